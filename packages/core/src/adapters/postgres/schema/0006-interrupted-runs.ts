import type { SchemaMigration } from "../migrations.js";

/**
 * Runs can end `interrupted` (their holder died; a later run took over and ended their steps); a
 * deploy lock names its run and beats while its holder lives (`heartbeat_at`; the holder is dead
 * once `expires_at` has passed), and a lock taken by hand during an incident never expires
 * (`expires_at` NULL). A run can be asked to abort by another relctl (`abort_requested_by`).
 */
export const migration0006: SchemaMigration = {
  version: 6,
  name: "interrupted runs, heartbeat locks",
  sql: `
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
  CHECK (status IN ('running', 'succeeded', 'failed', 'rolled_back', 'rollback_failed', 'interrupted'));
ALTER TABLE runs ADD COLUMN abort_requested_by text;
ALTER TABLE deploy_locks ALTER COLUMN expires_at DROP NOT NULL;
ALTER TABLE deploy_locks ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE deploy_locks ADD COLUMN run_id bigint;
`,
};
