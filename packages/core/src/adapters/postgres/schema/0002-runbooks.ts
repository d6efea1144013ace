import type { SchemaMigration } from "../migrations.js";

/** Runbook runs and their steps, what is deployed where, and deploy locks. */
export const migration0002: SchemaMigration = {
  version: 2,
  name: "runs, steps, deployments, deploy locks",
  sql: `
CREATE TABLE runs (
  id           bigserial PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('deploy', 'rehearse', 'rollback')),
  service_name text NOT NULL,
  environment  text NOT NULL,
  release_id   bigint REFERENCES releases(id),
  tag          text NOT NULL,
  from_tag     text,
  status       text NOT NULL DEFAULT 'running'
               CHECK (status IN ('running', 'succeeded', 'failed', 'rolled_back', 'rollback_failed')),
  actor        text NOT NULL,
  trace_id     text,
  error        text,
  started_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX runs_service_env_idx ON runs (service_name, environment, id DESC);

CREATE TABLE step_runs (
  id              bigserial PRIMARY KEY,
  run_id          bigint NOT NULL REFERENCES runs(id),
  host            text NOT NULL,
  step            text NOT NULL,
  title           text NOT NULL,
  argv            jsonb NOT NULL,
  exit_code       int,
  timed_out       boolean NOT NULL DEFAULT false,
  connection_lost boolean NOT NULL DEFAULT false,
  duration_ms     int NOT NULL,
  output_tail     text NOT NULL DEFAULT '',
  ok              boolean NOT NULL,
  started_at      timestamptz NOT NULL
);
CREATE INDEX step_runs_run_idx ON step_runs (run_id, id);

-- What ran where: one row per successful switch of an environment to a tag.
CREATE TABLE deployments (
  id             bigserial PRIMARY KEY,
  service_name   text NOT NULL,
  environment    text NOT NULL,
  release_id     bigint REFERENCES releases(id),
  tag            text NOT NULL,
  schema_version text,
  state          text NOT NULL CHECK (state IN ('active', 'superseded', 'rolled_back')),
  run_id         bigint REFERENCES runs(id),
  deployed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX deployments_one_active ON deployments (service_name, environment) WHERE state = 'active';
CREATE INDEX deployments_history_idx ON deployments (service_name, environment, id DESC);

CREATE TABLE deploy_locks (
  service_name text NOT NULL,
  environment  text NOT NULL,
  owner        text NOT NULL,
  reason       text NOT NULL,
  token        text NOT NULL,
  pid          int,
  hostname     text,
  acquired_at  timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  PRIMARY KEY (service_name, environment)
);
`,
};
