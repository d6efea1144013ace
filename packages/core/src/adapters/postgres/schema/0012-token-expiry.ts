import type { SchemaMigration } from "../migrations.js";

/** API tokens expire (relctl tokens create --expires; NULL: a token made before, or `never`). */
export const migration0012: SchemaMigration = {
  version: 12,
  name: "token expiry",
  sql: `
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
`,
};
