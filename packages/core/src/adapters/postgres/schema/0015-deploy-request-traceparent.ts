import type { SchemaMigration } from "../migrations.js";

/**
 * The W3C traceparent of the operation that requested a deploy (its trace and the span that
 * requested it), so the worker that runs it continues that trace (NULL: requested before, or
 * with no trace).
 */
export const migration0015: SchemaMigration = {
  version: 15,
  name: "deploy request traceparent",
  sql: `
ALTER TABLE deploy_requests ADD COLUMN traceparent text;
`,
};
