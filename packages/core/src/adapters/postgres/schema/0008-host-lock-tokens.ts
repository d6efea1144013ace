import type { SchemaMigration } from "../migrations.js";

/**
 * The token of the lock a run took on its hosts. A host lock left behind by a run of this
 * installation that has ended (its host was unreachable when it tried to free it) is known by
 * its token and taken over at once; another installation's lock is not.
 */
export const migration0008: SchemaMigration = {
  version: 8,
  name: "host lock tokens",
  sql: `
ALTER TABLE runs ADD COLUMN host_lock_token text;
CREATE INDEX runs_host_lock_token_idx ON runs (host_lock_token) WHERE host_lock_token IS NOT NULL;
`,
};
