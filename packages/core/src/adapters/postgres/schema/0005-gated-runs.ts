import type { SchemaMigration } from "../migrations.js";

/**
 * A run records whether its environment needed approvals (a gated environment, whatever its
 * name), so the effectiveness report counts production runs by the gate, not by a name. Runs
 * recorded before gates existed were gated when their environment was named production.
 */
export const migration0005: SchemaMigration = {
  version: 5,
  name: "gated runs",
  sql: `
ALTER TABLE runs ADD COLUMN gated boolean NOT NULL DEFAULT false;
UPDATE runs SET gated = (environment = 'production');
`,
};
