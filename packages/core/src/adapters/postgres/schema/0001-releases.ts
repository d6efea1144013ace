import { RELEASE_STATUSES } from "../../../domain/statuses.js";
import type { SchemaMigration } from "../migrations.js";

const statusList = RELEASE_STATUSES.map((s) => `'${s}'`).join(", ");

export const migration0001: SchemaMigration = {
  version: 1,
  name: "releases, approvals, audit",
  sql: `
CREATE TYPE release_status AS ENUM (${statusList});

CREATE TABLE releases (
id                 bigserial PRIMARY KEY,
service_name       text NOT NULL,
release_tag        text NOT NULL,
rollback_to_tag    text,
status             release_status NOT NULL DEFAULT 'initiated',
initiated_by       text NOT NULL,
github_run_id      text,
github_action_link text,
github_ref         text,
approved_list      jsonb NOT NULL DEFAULT '[]'::jsonb,
created_at         timestamptz NOT NULL DEFAULT now(),
started_at         timestamptz,
completed_at       timestamptz,
updated_at         timestamptz NOT NULL DEFAULT now(),
CONSTRAINT releases_service_tag_key UNIQUE (service_name, release_tag)
);
CREATE INDEX releases_status_idx ON releases (status);
CREATE INDEX releases_service_idx ON releases (service_name, created_at DESC);

CREATE TABLE approvals (
id          bigserial PRIMARY KEY,
release_id  bigint NOT NULL REFERENCES releases(id),
role        text NOT NULL,
user_id     text NOT NULL,
decision    text NOT NULL CHECK (decision IN ('approve', 'reject')),
reason      text,
at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX approvals_one_per_person ON approvals (release_id, user_id) WHERE decision = 'approve';
CREATE INDEX approvals_release_idx ON approvals (release_id, id);

CREATE TABLE audit_events (
id          bigserial PRIMARY KEY,
at          timestamptz NOT NULL DEFAULT now(),
actor       text NOT NULL,
channel     text NOT NULL CHECK (channel IN ('cli', 'api', 'telegram', 'action', 'system')),
action      text NOT NULL,
release_id  bigint REFERENCES releases(id),
before      jsonb,
after       jsonb,
trace_id    text
);
CREATE INDEX audit_events_release_idx ON audit_events (release_id, id);

CREATE FUNCTION relctl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION relctl_audit_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION relctl_audit_append_only();
`,
};
