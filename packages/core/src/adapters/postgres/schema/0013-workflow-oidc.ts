import type { SchemaMigration } from "../migrations.js";

/**
 * GitHub OIDC for workflows (relctl oidc allow|list|revoke) and administrator mode:
 * - oidc_policies: per service, the repository and owner (GitHub's numeric ids) and the
 *   job_workflow_ref pattern whose ID tokens may act on it; revoked rows are kept;
 * - oidc_token_uses: each ID token's jti, once: a replayed token is refused. Rows are pruned once
 *   the token has expired (a token past its exp is refused anyway);
 * - the audit's channel `cli-admin`: a CLI command on the database itself (no approvals service),
 *   acting as whoever it says.
 */
export const migration0013: SchemaMigration = {
  version: 13,
  name: "workflow oidc",
  sql: `
CREATE TABLE oidc_policies (
  id             bigserial PRIMARY KEY,
  service_name   text NOT NULL,
  repository_id  text NOT NULL,
  owner_id       text NOT NULL,
  workflow       text NOT NULL,
  created_by     text NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  revoked_at     timestamptz
);
CREATE UNIQUE INDEX oidc_policies_active ON oidc_policies (service_name, repository_id, owner_id, workflow)
  WHERE revoked_at IS NULL;
CREATE INDEX oidc_policies_repository ON oidc_policies (repository_id) WHERE revoked_at IS NULL;

CREATE TABLE oidc_token_uses (
  issuer      text NOT NULL,
  jti         text NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_token_uses_expiry ON oidc_token_uses (expires_at);

ALTER TABLE audit_events DROP CONSTRAINT audit_events_channel_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_channel_check
  CHECK (channel IN ('cli', 'cli-admin', 'api', 'telegram', 'action', 'system'));
`,
};
