import type { SchemaMigration } from "../migrations.js";

/**
 * When a reject prompt stopped waiting for its answer (NULL: still open). An answered prompt whose
 * message is still in the chat (it says why a reason was refused) is deleted when the card moves on.
 */
export const migration0019: SchemaMigration = {
  version: 19,
  name: "answered prompts",
  sql: `
ALTER TABLE bot_prompts ADD COLUMN answered_at timestamptz;
`,
};
