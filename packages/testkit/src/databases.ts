import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Database,
  grantRuntimeRole,
  openDatabase,
  runStoreMigrations,
  stopEmbeddedServer,
} from "@relctl/core";
import postgres from "postgres";

/** The machine's PostgreSQL server used by tests (a throwaway database is made per call). */
export const ADMIN_URL = process.env.RELCTL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  readonly db: Database;
  readonly url?: string;
  drop(): Promise<void>;
}

/**
 * A new, empty, migrated database on the machine's PostgreSQL. With RELCTL_TEST_PG_AS_RUNTIME=1
 * it is migrated by an owner role of its own and `db`/`url` are a runtime role holding only
 * relctl's runtime grants, so a test suite shows what relctl does as that role.
 */
export async function createPostgresTestDatabase(prefix = "relctl_test"): Promise<TestDatabase> {
  if (process.env.RELCTL_TEST_PG_AS_RUNTIME === "1") {
    const r = await createPostgresRolesTestDatabase(prefix);
    return { db: r.runtime, url: r.runtimeUrl, drop: () => r.drop() };
  }
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const db = await openDatabase({ kind: "postgres", url: url.toString() });
  await runStoreMigrations(db.sql);
  return {
    db,
    url: url.toString(),
    async drop() {
      await db.close();
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

export interface RolesTestDatabase {
  /** The database's owner: it ran the migrations and owns every table, function and trigger. */
  readonly owner: Database;
  readonly ownerUrl: string;
  readonly ownerRole: string;
  /** The role relctl runs as: only the runtime grants (relctl db migrate --grant). */
  readonly runtime: Database;
  readonly runtimeUrl: string;
  readonly runtimeRole: string;
  drop(): Promise<void>;
}

/**
 * A throwaway database owned by a throwaway owner role (who migrates it) and a throwaway runtime
 * role granted relctl's runtime privileges; drop() removes the database and both roles.
 * `migrate: false` leaves it empty and ungranted.
 */
export async function createPostgresRolesTestDatabase(
  prefix = "relctl_roles",
  options: { migrate?: boolean } = {},
): Promise<RolesTestDatabase> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const ownerRole = `${name}_owner`;
  const runtimeRole = `${name}_app`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE ROLE ${ownerRole} LOGIN`);
    await admin.unsafe(`CREATE ROLE ${runtimeRole} LOGIN`);
    await admin.unsafe(`CREATE DATABASE ${name} OWNER ${ownerRole}`);
  } finally {
    await admin.end();
  }
  const urlAs = (role: string) => {
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    url.username = role;
    url.password = "";
    return url.toString();
  };
  const ownerUrl = urlAs(ownerRole);
  const runtimeUrl = urlAs(runtimeRole);
  const owner = await openDatabase({ kind: "postgres", url: ownerUrl });
  if (options.migrate !== false) {
    await runStoreMigrations(owner.sql);
    await grantRuntimeRole(owner.sql, runtimeRole);
  }
  const runtime = await openDatabase({ kind: "postgres", url: runtimeUrl });
  return {
    owner,
    ownerUrl,
    ownerRole,
    runtime,
    runtimeUrl,
    runtimeRole,
    async drop() {
      await Promise.all([owner.close(), runtime.close()]);
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.unsafe(`DROP ROLE IF EXISTS ${runtimeRole}`);
        await a.unsafe(`DROP ROLE IF EXISTS ${ownerRole}`);
      } finally {
        await a.end();
      }
    },
  };
}

/** A new embedded (PGlite) database in a temporary folder, migrated. */
export async function createEmbeddedTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), "relctl-pglite-"));
  const db = await openDatabase({ kind: "embedded", dataDir: join(dir, "db") });
  await runStoreMigrations(db.sql);
  return {
    db,
    async drop() {
      await db.close();
      await stopEmbeddedServer(join(dir, "db"));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const ENGINES = [
  ["postgres", createPostgresTestDatabase],
  ["pglite", createEmbeddedTestDatabase],
] as const;
