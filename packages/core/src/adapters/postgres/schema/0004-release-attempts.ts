import type { SchemaMigration } from "../migrations.js";

/**
 * A tag whose release ended badly (a failed stage build, a rejected or rolled-back release) can be
 * released again as a new attempt: a new row with its own approvals, runs and audit trail, so both
 * attempts stay on record. (service, tag) is unique per attempt.
 */
export const migration0004: SchemaMigration = {
  version: 4,
  name: "release attempts",
  sql: `
ALTER TABLE releases ADD COLUMN attempt int NOT NULL DEFAULT 1 CHECK (attempt >= 1);
ALTER TABLE releases DROP CONSTRAINT releases_service_tag_key;
ALTER TABLE releases ADD CONSTRAINT releases_service_tag_attempt_key UNIQUE (service_name, release_tag, attempt);
`,
};
