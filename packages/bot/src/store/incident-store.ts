import type { Sql } from "postgres";

/** incident_messages: the message each chat shows for an incident (an alert's firing). */
export class IncidentStore {
  constructor(private readonly sql: Sql) {}

  async remember(chatId: number, fingerprint: string, startsAt: string, messageId: number): Promise<void> {
    await this.sql`
      INSERT INTO incident_messages (chat_id, fingerprint, starts_at, message_id)
      VALUES (${chatId}, ${fingerprint}, ${startsAt}, ${messageId})
      ON CONFLICT (chat_id, fingerprint, starts_at) DO UPDATE SET message_id = excluded.message_id`;
  }

  /** The incident's message in the chat, when the chat was sent its firing. */
  async messageId(chatId: number, fingerprint: string, startsAt: string): Promise<number | undefined> {
    const [row] = await this.sql`
      SELECT message_id FROM incident_messages
      WHERE chat_id = ${chatId} AND fingerprint = ${fingerprint} AND starts_at = ${startsAt}`;
    return row ? Number(row.message_id) : undefined;
  }

  async markResolved(chatId: number, fingerprint: string, startsAt: string): Promise<void> {
    await this.sql`UPDATE incident_messages SET resolved_at = coalesce(resolved_at, now())
      WHERE chat_id = ${chatId} AND fingerprint = ${fingerprint} AND starts_at = ${startsAt}`;
  }

  /** Unresolved incidents about a release (in one chat, or in all), with the alert each shows. */
  async openIncidentsOf(
    releaseId: number,
    chatId?: number,
  ): Promise<{ chatId: number; messageId: number; payload: Record<string, unknown> }[]> {
    const rows = await this.sql`
      SELECT i.chat_id, i.message_id, o.payload FROM incident_messages i
      JOIN outbox o ON o.chat_id = i.chat_id AND o.kind = 'alert'
        AND o.event_key = 'alert:' || i.fingerprint || ':firing:' || i.starts_at
      WHERE (${chatId ?? null}::bigint IS NULL OR i.chat_id = ${chatId ?? null})
        AND i.resolved_at IS NULL AND o.release_id = ${releaseId}
      ORDER BY i.created_at`;
    return rows.map((r) => ({
      chatId: Number(r.chat_id),
      messageId: Number(r.message_id),
      payload: (r.payload as Record<string, unknown>) ?? {},
    }));
  }
}
