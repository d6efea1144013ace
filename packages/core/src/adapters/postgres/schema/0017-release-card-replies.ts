import type { SchemaMigration } from "../migrations.js";

/**
 * The ringing reply a release's card has in a chat now (a release ready for manual testing, a
 * failure, …): it is deleted when the card moves on, so the card stays the release's one message
 * (NULL: no reply, or it is gone).
 */
export const migration0017: SchemaMigration = {
  version: 17,
  name: "release card replies",
  sql: `
ALTER TABLE release_cards ADD COLUMN reply_message_id bigint;
`,
};
