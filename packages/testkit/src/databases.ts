import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, openDatabase, runStoreMigrations, stopEmbeddedServer } from "@relctl/core";
import postgres from "postgres";

/** The machine's PostgreSQL server used by tests (a throwaway database is made per call). */
export const ADMIN_URL = process.env.RELCTL_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  readonly db: Database;
  readonly url?: string;
  drop(): Promise<void>;
}

/** A new, empty, migrated database on the machine's PostgreSQL. */
export async function createPostgresTestDatabase(prefix = "relctl_test"): Promise<TestDatabase> {
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
