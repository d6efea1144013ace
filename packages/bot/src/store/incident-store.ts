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
}
