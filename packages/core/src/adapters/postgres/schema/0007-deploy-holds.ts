import type { SchemaMigration } from "../migrations.js";

/**
 * After a rollback in a gated environment, further deploys of the service there are held until a
 * person acknowledges the rollback (relctl ack): a team looks at what went wrong before the next
 * release goes out. One open hold per (service, environment).
 */
export const migration0007: SchemaMigration = {
  version: 7,
  name: "deploy holds",
  sql: `
CREATE TABLE deploy_holds (
  id               bigserial PRIMARY KEY,
  service_name     text NOT NULL,
  environment      text NOT NULL,
  reason           text NOT NULL,
  release_id       bigint REFERENCES releases(id),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  acknowledged_by  text,
  acknowledged_at  timestamptz
);
CREATE UNIQUE INDEX deploy_holds_one_open ON deploy_holds (service_name, environment) WHERE acknowledged_at IS NULL;
`,
};
