import type { Sql } from "postgres";

/** release_cards: the message that is a release's card in a chat (one per chat and release). */
export class ReleaseCardStore {
  constructor(private readonly sql: Sql) {}

  /** The message id of the release's card in the chat, when the chat has one. */
  async messageId(chatId: number, releaseId: number): Promise<number | undefined> {
    const [card] = await this.sql`
      SELECT message_id FROM release_cards WHERE chat_id = ${chatId} AND release_id = ${releaseId}`;
    return card ? Number(card.message_id) : undefined;
  }

  /** Records `messageId` as the release's card in the chat (replacing an earlier one). */
  async remember(chatId: number, releaseId: number, messageId: number): Promise<void> {
    await this.sql`
      INSERT INTO release_cards (chat_id, release_id, message_id) VALUES (${chatId}, ${releaseId}, ${messageId})
      ON CONFLICT (chat_id, release_id) DO UPDATE SET message_id = excluded.message_id, updated_at = now()`;
  }
}
