import type { Sql } from "postgres";

/** A reject button's question waiting for its answer: the reason, from that member in that chat. */
export interface BotPrompt {
  readonly chatId: number;
  readonly telegramId: number;
  readonly releaseId: number;
  /** The card state the reject button was pressed on; the answer counts only while it holds. */
  readonly cardVersion: string;
  /** The prompt message; in a group the reason must reply to it. */
  readonly promptMessageId: number | null;
}

/** A prompt's message the chat still shows, to be deleted: `telegramId` is whom it asked. */
export interface PromptMessage {
  readonly telegramId: number;
  readonly messageId: number;
}

/** How long a question waits for its answer (a later text is then an ordinary message). */
export const PROMPT_OPEN_MS = 24 * 3600_000;

/**
 * bot_prompts: at most one question per member and chat (a new one replaces it). A question is open
 * until answered (answered_at); its message stays in the chat until the bot deletes it: at once
 * when the rejection is recorded, or when the card moves on (an abandoned or refused one).
 */
export class BotPromptStore {
  constructor(private readonly sql: Sql) {}

  /** Records the member's new question; the message of the one it replaces, if any, is returned. */
  async save(prompt: BotPrompt): Promise<number | undefined> {
    const [row] = await this.sql`
      WITH earlier AS (
        SELECT prompt_message_id FROM bot_prompts
        WHERE chat_id = ${prompt.chatId} AND telegram_id = ${prompt.telegramId})
      INSERT INTO bot_prompts (chat_id, telegram_id, release_id, card_version, prompt_message_id)
      VALUES (${prompt.chatId}, ${prompt.telegramId}, ${prompt.releaseId}, ${prompt.cardVersion},
        ${prompt.promptMessageId})
      ON CONFLICT (chat_id, telegram_id) DO UPDATE SET release_id = excluded.release_id,
        card_version = excluded.card_version, prompt_message_id = excluded.prompt_message_id,
        created_at = now(), answered_at = NULL
      RETURNING (SELECT prompt_message_id FROM earlier) AS earlier`;
    const earlier = row?.earlier;
    return earlier == null || Number(earlier) === prompt.promptMessageId ? undefined : Number(earlier);
  }

  /** The member's open question in the chat (not answered, not older than PROMPT_OPEN_MS). */
  async find(chatId: number, telegramId: number): Promise<BotPrompt | undefined> {
    const [r] = await this.sql`
      SELECT * FROM bot_prompts WHERE chat_id = ${chatId} AND telegram_id = ${telegramId}
        AND answered_at IS NULL AND created_at > now() - ${PROMPT_OPEN_MS} * interval '1 millisecond'`;
    if (!r) return undefined;
    return {
      chatId: Number(r.chat_id),
      telegramId: Number(r.telegram_id),
      releaseId: Number(r.release_id),
      cardVersion: r.card_version as string,
      promptMessageId: r.prompt_message_id === null ? null : Number(r.prompt_message_id),
    };
  }

  /** Closes the member's open question; false when it was answered already (another text won). */
  async answer(chatId: number, telegramId: number): Promise<boolean> {
    const rows = await this.sql`
      UPDATE bot_prompts SET answered_at = now()
      WHERE chat_id = ${chatId} AND telegram_id = ${telegramId} AND answered_at IS NULL
      RETURNING 1`;
    return rows.length > 0;
  }

  /**
   * The prompts about a release whose messages the chat shows and that can no longer be answered:
   * answered, abandoned past PROMPT_OPEN_MS, or asked on a card state that is gone (`cardVersion`
   * is the card's state now).
   */
  async leftovers(chatId: number, releaseId: number, cardVersion: string): Promise<PromptMessage[]> {
    const rows = await this.sql`
      SELECT telegram_id, prompt_message_id FROM bot_prompts
      WHERE chat_id = ${chatId} AND release_id = ${releaseId} AND prompt_message_id IS NOT NULL
        AND (answered_at IS NOT NULL OR card_version <> ${cardVersion}
          OR created_at <= now() - ${PROMPT_OPEN_MS} * interval '1 millisecond')`;
    return rows.map((r) => ({ telegramId: Number(r.telegram_id), messageId: Number(r.prompt_message_id) }));
  }

  /** Forgets the member's prompt `messageId` (deleted, or past deleting); a newer one stays. */
  async forget(chatId: number, telegramId: number, messageId: number | null): Promise<void> {
    await this.sql`
      DELETE FROM bot_prompts WHERE chat_id = ${chatId} AND telegram_id = ${telegramId}
        AND prompt_message_id IS NOT DISTINCT FROM ${messageId}::bigint`;
  }

  async delete(chatId: number, telegramId: number): Promise<void> {
    await this.sql`DELETE FROM bot_prompts WHERE chat_id = ${chatId} AND telegram_id = ${telegramId}`;
  }

  /** Rows older than this are dropped (Telegram lets a bot delete a message for 48 hours only). */
  async prune(olderThanMs: number): Promise<void> {
    await this
      .sql`DELETE FROM bot_prompts WHERE created_at < now() - ${olderThanMs} * interval '1 millisecond'`;
  }
}
