import type { Sql } from "postgres";

/**
 * release_cards: the message that is a release's card in a chat (one per chat and release), and
 * the ringing reply to it the chat has now, if any (deleted when the card moves on).
 */
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

  /** The ringing reply to the release's card in the chat, while it has one. */
  async replyId(chatId: number, releaseId: number): Promise<number | undefined> {
    const [card] = await this.sql`
      SELECT reply_message_id FROM release_cards WHERE chat_id = ${chatId} AND release_id = ${releaseId}`;
    return card?.reply_message_id == null ? undefined : Number(card.reply_message_id);
  }

  /** Records the card's ringing reply in the chat (the card's row exists: a reply follows its card). */
  async rememberReply(chatId: number, releaseId: number, messageId: number): Promise<void> {
    await this.sql`
      UPDATE release_cards SET reply_message_id = ${messageId}, updated_at = now()
      WHERE chat_id = ${chatId} AND release_id = ${releaseId}`;
  }

  /** Forgets the reply `messageId` (deleted, or past deleting); a newer one recorded since stays. */
  async forgetReply(chatId: number, releaseId: number, messageId: number): Promise<void> {
    await this.sql`
      UPDATE release_cards SET reply_message_id = NULL, updated_at = now()
      WHERE chat_id = ${chatId} AND release_id = ${releaseId} AND reply_message_id = ${messageId}`;
  }
}
