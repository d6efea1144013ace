import { randomBytes } from "node:crypto";
import type { InlineKeyboardMarkup } from "grammy/types";
import type { Sql } from "postgres";
import type { ButtonAction, RenderedMessage } from "../telegram/render-card.js";

/** What a button press may ask for: looked up by its opaque id, never read from the callback data. */
export interface CallbackAction {
  readonly id: string;
  readonly chatId: number;
  readonly releaseId: number | null;
  readonly action: ButtonAction;
  readonly params: Readonly<Record<string, unknown>>;
  readonly cardVersion: string | null;
}

const ID_RE = /^[A-Za-z0-9_-]{16}$/;

/**
 * Callback data is a random 16-character id (96 bits). The action, the release, the chat and the
 * card state it was issued for live in the database; a forged or guessed id finds nothing.
 */
export class CallbackActionStore {
  constructor(private readonly sql: Sql) {}

  /** Gives every button of a message its id; returns Telegram's inline keyboard. */
  async issue(
    chatId: number,
    message: RenderedMessage,
    cardVersion: string | null,
  ): Promise<InlineKeyboardMarkup | undefined> {
    if (message.buttons.length === 0) return undefined;
    const rows = message.buttons.map((row) =>
      row.map((b) => ({
        id: randomBytes(12).toString("base64url"),
        chat_id: chatId,
        release_id: b.releaseId ?? null,
        action: b.action,
        params: b.params ?? {},
        card_version: b.releaseId ? cardVersion : null,
        label: b.label,
      })),
    );
    const flat = rows.flat();
    await this.sql`INSERT INTO callback_actions ${this.sql(
      flat.map(({ label: _label, params, ...r }) => ({ ...r, params: this.sql.json(params as never) })),
    )}`;
    return { inline_keyboard: rows.map((row) => row.map((b) => ({ text: b.label, callback_data: b.id }))) };
  }

  async find(data: string | undefined): Promise<CallbackAction | undefined> {
    if (!data || !ID_RE.test(data)) return undefined;
    const [r] = await this.sql`SELECT * FROM callback_actions WHERE id = ${data}`;
    if (!r) return undefined;
    return {
      id: r.id as string,
      chatId: Number(r.chat_id),
      releaseId: r.release_id === null ? null : Number(r.release_id),
      action: r.action as ButtonAction,
      params: (r.params as Record<string, unknown>) ?? {},
      cardVersion: (r.card_version as string | null) ?? null,
    };
  }

  /** Buttons older than this are forgotten (a press then reads as unknown). */
  async prune(olderThanMs: number): Promise<void> {
    await this
      .sql`DELETE FROM callback_actions WHERE created_at < now() - ${olderThanMs} * interval '1 millisecond'`;
  }
}
