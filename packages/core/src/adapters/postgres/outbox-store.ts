import type { Sql, TransactionSql } from "postgres";
import type { Locale } from "../../domain/member.js";

export type OutboxKind = "release_event" | "alert" | "notice";

/** One message (or card update) for one chat. */
export interface OutboxItem {
  readonly id: number;
  readonly chatId: number;
  readonly kind: OutboxKind;
  readonly eventKey: string;
  readonly releaseId: number | null;
  readonly auditId: number | null;
  readonly payload: Record<string, unknown>;
  /** Incremented by every claim; the fence that makes a late writer's update a no-op. */
  readonly attempts: number;
  readonly createdAt: Date;
}

export interface ChatSettings {
  readonly chatId: number;
  readonly locale: Locale | null;
  readonly receivesReleases: boolean;
  readonly receivesAlerts: boolean;
}

type Row = Record<string, unknown>;
type Tx = Sql | TransactionSql;

function itemFromRow(r: Row): OutboxItem {
  return {
    id: Number(r.id),
    chatId: Number(r.chat_id),
    kind: r.kind as OutboxKind,
    eventKey: r.event_key as string,
    releaseId: r.release_id === null ? null : Number(r.release_id),
    auditId: r.audit_id === null ? null : Number(r.audit_id),
    payload: (r.payload as Record<string, unknown>) ?? {},
    attempts: Number(r.attempts),
    createdAt: r.created_at as Date,
  };
}

/**
 * The chat outbox. Rows are written in the transaction of the change they announce (release
 * changes by the audit_events trigger, alerts and notices by `enqueue`); a sender claims each chat's
 * oldest undelivered row only, so a chat's messages go out in order, and a unique
 * (chat_id, event_key) keeps one event from being queued twice.
 */
export class OutboxStore {
  constructor(readonly sql: Sql) {}

  /** Queues one event for the given chats (or every chat subscribed to releases / alerts). */
  async enqueue(
    tx: Tx,
    input: {
      readonly to: "release_chats" | "alert_chats" | readonly number[];
      readonly kind: OutboxKind;
      readonly eventKey: string;
      readonly releaseId?: number | null;
      readonly payload: Record<string, unknown>;
    },
  ): Promise<number> {
    const chats =
      input.to === "release_chats"
        ? tx`SELECT chat_id FROM telegram_chats WHERE receives_releases`
        : input.to === "alert_chats"
          ? tx`SELECT chat_id FROM telegram_chats WHERE receives_alerts`
          : tx`SELECT unnest(${input.to.map(String)}::bigint[]) AS chat_id`;
    const rows = await tx`
      INSERT INTO outbox (chat_id, kind, event_key, release_id, payload)
      SELECT c.chat_id, ${input.kind}, ${input.eventKey}, ${input.releaseId ?? null}, ${tx.json(input.payload as never)}
      FROM (${chats}) c
      ON CONFLICT (chat_id, event_key) DO NOTHING
      RETURNING id`;
    return rows.length;
  }

  /**
   * Claims up to `limit` rows, at most one per chat and only a chat's oldest undelivered row, for
   * `leaseMs`. Rows another sender holds are skipped (SKIP LOCKED), and so is the rest of their chat.
   */
  async claim(limit: number, leaseMs: number): Promise<OutboxItem[]> {
    const rows = await this.sql`
      WITH heads AS (
        SELECT DISTINCT ON (chat_id) id FROM outbox
        WHERE sent_at IS NULL AND failed_at IS NULL
        ORDER BY chat_id, id
      ), ready AS (
        SELECT o.id FROM outbox o JOIN heads h ON h.id = o.id
        WHERE o.available_at <= now() AND (o.claimed_until IS NULL OR o.claimed_until < now())
        ORDER BY o.id LIMIT ${limit}
        FOR UPDATE OF o SKIP LOCKED
      )
      UPDATE outbox o SET claimed_until = now() + ${leaseMs} * interval '1 millisecond', attempts = o.attempts + 1
      FROM ready WHERE o.id = ready.id
      RETURNING o.*`;
    return rows.map(itemFromRow).sort((a, b) => a.id - b.id);
  }

  async markSent(item: OutboxItem): Promise<boolean> {
    const rows = await this.sql`
      UPDATE outbox SET sent_at = now(), claimed_until = NULL, last_error = NULL
      WHERE id = ${item.id} AND attempts = ${item.attempts} AND sent_at IS NULL RETURNING id`;
    return rows.length > 0;
  }

  async reschedule(item: OutboxItem, at: Date, error: string): Promise<void> {
    await this.sql`
      UPDATE outbox SET available_at = ${at}, claimed_until = NULL, last_error = ${error}
      WHERE id = ${item.id} AND attempts = ${item.attempts} AND sent_at IS NULL`;
  }

  async markFailed(item: OutboxItem, error: string): Promise<void> {
    await this.sql`
      UPDATE outbox SET failed_at = now(), claimed_until = NULL, last_error = ${error}
      WHERE id = ${item.id} AND attempts = ${item.attempts} AND sent_at IS NULL`;
  }

  /**
   * Whether a later row that edits the same release's card in the same chat (a release event or a
   * deploy-request notice) is queued: its card update supersedes this one's.
   */
  async hasLaterCardUpdate(item: OutboxItem): Promise<boolean> {
    const [row] = await this.sql`
      SELECT 1 FROM outbox WHERE chat_id = ${item.chatId} AND release_id = ${item.releaseId}
        AND kind IN ('release_event', 'notice') AND id > ${item.id} AND sent_at IS NULL AND failed_at IS NULL
      LIMIT 1`;
    return Boolean(row);
  }

  /** Forgets delivered (or given-up) rows older than this; an alert repeated after that posts again. */
  async pruneDone(olderThanMs: number): Promise<number> {
    const rows = await this.sql`
      DELETE FROM outbox WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL)
        AND created_at < now() - ${olderThanMs} * interval '1 millisecond' RETURNING id`;
    return rows.length;
  }

  async pendingCount(): Promise<number> {
    const [row] = await this
      .sql`SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`;
    return Number(row?.n ?? 0);
  }

  async writeChat(settings: Partial<ChatSettings> & { chatId: number }): Promise<void> {
    await this.sql`
      INSERT INTO telegram_chats (chat_id, locale, receives_releases, receives_alerts)
      VALUES (${settings.chatId}, ${settings.locale ?? null}, ${settings.receivesReleases ?? false},
              ${settings.receivesAlerts ?? false})
      ON CONFLICT (chat_id) DO UPDATE SET
        locale = coalesce(${settings.locale ?? null}, telegram_chats.locale),
        receives_releases = coalesce(${settings.receivesReleases ?? null}::boolean, telegram_chats.receives_releases),
        receives_alerts = coalesce(${settings.receivesAlerts ?? null}::boolean, telegram_chats.receives_alerts),
        updated_at = now()`;
  }

  async readChat(chatId: number): Promise<ChatSettings | undefined> {
    const [r] = await this.sql`SELECT * FROM telegram_chats WHERE chat_id = ${chatId}`;
    if (!r) return undefined;
    return {
      chatId: Number(r.chat_id),
      locale: (r.locale as Locale | null) ?? null,
      receivesReleases: Boolean(r.receives_releases),
      receivesAlerts: Boolean(r.receives_alerts),
    };
  }
}
