import type { Sql } from "postgres";
import { StateError } from "../../errors.js";
import { migration0001 } from "./schema/0001-releases.js";
import { migration0002 } from "./schema/0002-runbooks.js";
import { migration0003 } from "./schema/0003-approvals-service.js";
import { migration0004 } from "./schema/0004-release-attempts.js";
import { migration0005 } from "./schema/0005-gated-runs.js";
import { migration0006 } from "./schema/0006-interrupted-runs.js";
import { migration0007 } from "./schema/0007-deploy-holds.js";
import { migration0008 } from "./schema/0008-host-lock-tokens.js";
import { migration0009 } from "./schema/0009-dispatched-rollbacks.js";
import { migration0010 } from "./schema/0010-incident-messages.js";
import { migration0011 } from "./schema/0011-token-revocation-notices.js";
import { migration0012 } from "./schema/0012-token-expiry.js";
import { migration0013 } from "./schema/0013-workflow-oidc.js";
import { migration0014 } from "./schema/0014-audit-chain.js";
import { migration0015 } from "./schema/0015-deploy-request-traceparent.js";
import { migration0016 } from "./schema/0016-audit-chain-without-waiting.js";
import { migration0017 } from "./schema/0017-release-card-replies.js";
import { migration0018 } from "./schema/0018-audit-chain-bounded-link.js";
import { migration0019 } from "./schema/0019-answered-prompts.js";

/**
 * relctl's own schema, versioned. Migrations only go forward; each runs in its own transaction
 * under an advisory lock, so concurrent starts never apply one twice. Same SQL on PostgreSQL and PGlite.
 */
export interface SchemaMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/** In version order. Each file is one migration; never edit one that has shipped. */
export const MIGRATIONS: readonly SchemaMigration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
  migration0008,
  migration0009,
  migration0010,
  migration0011,
  migration0012,
  migration0013,
  migration0014,
  migration0015,
  migration0016,
  migration0017,
  migration0018,
  migration0019,
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Applies every pending migration; returns the versions applied now. */
export async function runStoreMigrations(sql: Sql): Promise<number[]> {
  // Every command migrates on start: when nothing is pending, one read and no lock.
  const pending = await pendingStoreMigrations(sql);
  if (pending.length === 0) return [];
  await assertMayMigrate(sql, pending);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const done = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(7215001)`;
      await tx`CREATE TABLE IF NOT EXISTS relctl_schema_migrations (
        version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      const [row] = await tx`SELECT 1 FROM relctl_schema_migrations WHERE version = ${m.version}`;
      if (row) return false;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO relctl_schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      return true;
    });
    if (done) applied.push(m.version);
  }
  return applied;
}

/** The versions of MIGRATIONS not yet applied (every one of them, not only those above the highest). */
export async function pendingStoreMigrations(sql: Sql): Promise<number[]> {
  const [exists] = await sql`SELECT to_regclass('relctl_schema_migrations') AS t`;
  const known = MIGRATIONS.map((m) => m.version);
  if (!exists?.t) return known;
  const rows = await sql`SELECT version FROM relctl_schema_migrations WHERE version IN ${sql(known)}`;
  const applied = new Set(rows.map((r) => Number(r.version)));
  return known.filter((v) => !applied.has(v));
}

/**
 * A role that may not change relctl's schema (the runtime role: it owns none of the tables) never
 * tries: it is told to have the owner migrate. Superusers and members of the owning role may.
 */
async function assertMayMigrate(sql: Sql, pending: readonly number[]): Promise<void> {
  const [row] = await sql`
    SELECT current_user AS who,
      CASE WHEN to_regclass('relctl_schema_migrations') IS NULL
        THEN has_schema_privilege(current_schema(), 'CREATE')
        ELSE pg_has_role((SELECT relowner FROM pg_class WHERE oid = to_regclass('relctl_schema_migrations')), 'USAGE')
      END AS may`;
  if (row?.may) return;
  const version = await readStoreSchemaVersion(sql);
  throw new StateError(
    "schema_not_migrated",
    `database: relctl needs schema version ${LATEST_SCHEMA_VERSION} (migrations ${pending.join(", ")} are pending, the database is at ${version}), and the role ${String(row?.who)} may not migrate it`,
    {
      hint: "the owner migrates it: relctl db migrate --owner-url postgres://<owner>@<host>/<db> --grant <runtime role>",
      details: { schema_version: version, pending },
    },
  );
}

export async function readStoreSchemaVersion(sql: Sql): Promise<number> {
  const [exists] = await sql`SELECT to_regclass('relctl_schema_migrations') AS t`;
  if (!exists?.t) return 0;
  const [row] = await sql`SELECT coalesce(max(version), 0)::int AS v FROM relctl_schema_migrations`;
  return row?.v ?? 0;
}
