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

/** bot_prompts: at most one open question per member and chat (a new one replaces it). */
export class BotPromptStore {
  constructor(private readonly sql: Sql) {}

  async save(prompt: BotPrompt): Promise<void> {
    await this.sql`
      INSERT INTO bot_prompts (chat_id, telegram_id, release_id, card_version, prompt_message_id)
      VALUES (${prompt.chatId}, ${prompt.telegramId}, ${prompt.releaseId}, ${prompt.cardVersion},
        ${prompt.promptMessageId})
      ON CONFLICT (chat_id, telegram_id) DO UPDATE SET release_id = excluded.release_id,
        card_version = excluded.card_version, prompt_message_id = excluded.prompt_message_id, created_at = now()`;
  }

  async find(chatId: number, telegramId: number): Promise<BotPrompt | undefined> {
    const [r] = await this.sql`
      SELECT * FROM bot_prompts WHERE chat_id = ${chatId} AND telegram_id = ${telegramId}`;
    if (!r) return undefined;
    return {
      chatId: Number(r.chat_id),
      telegramId: Number(r.telegram_id),
      releaseId: Number(r.release_id),
      cardVersion: r.card_version as string,
      promptMessageId: r.prompt_message_id === null ? null : Number(r.prompt_message_id),
    };
  }

  async delete(chatId: number, telegramId: number): Promise<void> {
    await this.sql`DELETE FROM bot_prompts WHERE chat_id = ${chatId} AND telegram_id = ${telegramId}`;
  }

  /** Questions older than this are forgotten (a later text is then an ordinary message). */
  async prune(olderThanMs: number): Promise<void> {
    await this
      .sql`DELETE FROM bot_prompts WHERE created_at < now() - ${olderThanMs} * interval '1 millisecond'`;
  }
}
