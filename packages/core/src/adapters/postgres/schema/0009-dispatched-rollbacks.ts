import type { SchemaMigration } from "../migrations.js";

/**
 * A rollback handed to a workflow (`dispatched`) stays open until the workflow reports its end
 * (the release reaches rollback_done or rollback_failed) or stops reporting for too long
 * (`unknown`): while it is open, no other rollback of that service and environment is requested.
 */
export const migration0009: SchemaMigration = {
  version: 9,
  name: "dispatched rollbacks",
  sql: `
ALTER TABLE deploy_requests DROP CONSTRAINT deploy_requests_state_check;
ALTER TABLE deploy_requests ADD CONSTRAINT deploy_requests_state_check
  CHECK (state IN ('pending', 'running', 'dispatched', 'done', 'failed', 'unknown'));
DROP INDEX deploy_requests_one_open_rollback;
CREATE UNIQUE INDEX deploy_requests_one_open_rollback ON deploy_requests (service_name, environment)
  WHERE kind = 'rollback' AND state IN ('pending', 'running', 'dispatched');
`,
};
