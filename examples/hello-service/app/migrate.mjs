#!/usr/bin/env node
// Migration runner for hello-service.
//
//   node migrate.mjs up               apply every pending migration
//   node migrate.mjs down <version>   roll back, newest first, every applied migration numbered above <version>
//   node migrate.mjs version          print the current schema version (0 when none)
//
// Migrations are migrations/NNNN_name.up.sql and NNNN_name.down.sql; each one runs in its own
// transaction together with its row in schema_migrations. up and down hold a PostgreSQL advisory
// lock, so two runners never interleave. stdout carries only the resulting version number;
// progress and errors go to stderr. Exit code: 0 success, 1 failure.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";

const MIGRATIONS_DIR = fileURLToPath(new URL("migrations/", import.meta.url));
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.(up|down)\.sql$/;
const LOCK_KEY = "hello-service:migrate";
const USAGE = "usage: node migrate.mjs up | down <version> | version";

class MigrateError extends Error {}

const log = (message) => console.error(`migrate: ${message}`);

/** Migrations in this checkout, oldest first: { version, name, up?, down? } (file paths). */
function readMigrations() {
  const byVersion = new Map();
  for (const file of readdirSync(MIGRATIONS_DIR)) {
    const match = FILE_PATTERN.exec(file);
    if (!match) continue;
    const [, number, label, direction] = match;
    const name = `${number}_${label}`;
    const migration = byVersion.get(Number(number)) ?? { version: Number(number), name };
    if (migration.name !== name) {
      throw new MigrateError(`two migrations numbered ${number}: ${migration.name}, ${name}`);
    }
    migration[direction] = join(MIGRATIONS_DIR, file);
    byVersion.set(migration.version, migration);
  }
  return [...byVersion.values()].sort((a, b) => a.version - b.version);
}

async function hasMigrationsTable(sql) {
  const [{ exists }] = await sql`select to_regclass('schema_migrations') is not null as exists`;
  return exists;
}

async function appliedVersions(sql) {
  if (!(await hasMigrationsTable(sql))) return [];
  const rows = await sql`select version from schema_migrations order by version`;
  return rows.map((row) => row.version);
}

async function currentVersion(sql) {
  return (await appliedVersions(sql)).at(-1) ?? 0;
}

async function withLock(sql, fn) {
  const [{ locked }] = await sql`select pg_try_advisory_lock(hashtext(${LOCK_KEY})) as locked`;
  if (!locked) {
    log("another migration run holds the lock; waiting");
    await sql`select pg_advisory_lock(hashtext(${LOCK_KEY}))`;
  }
  try {
    if (!(await hasMigrationsTable(sql))) {
      await sql`
        create table schema_migrations (
          version int primary key,
          applied_at timestamptz not null default now()
        )`;
    }
    return await fn();
  } finally {
    // If the connection is gone the lock went with it; don't hide the error that got us here.
    await sql`select pg_advisory_unlock(hashtext(${LOCK_KEY}))`.catch(() => {});
  }
}

/** Run one migration file and record (or forget) its version, atomically. */
async function runStep(sql, migration, direction) {
  const text = readFileSync(migration[direction], "utf8");
  try {
    await sql.begin(async (tx) => {
      await tx.unsafe(text).simple();
      if (direction === "up") await tx`insert into schema_migrations (version) values (${migration.version})`;
      else await tx`delete from schema_migrations where version = ${migration.version}`;
    });
  } catch (err) {
    throw new MigrateError(`${migration.name}.${direction}.sql failed, rolled back: ${err.message}`);
  }
  log(`${direction === "up" ? "applied" : "reverted"} ${migration.name}`);
}

async function up(sql) {
  return withLock(sql, async () => {
    const migrations = readMigrations();
    const applied = new Set(await appliedVersions(sql));
    const unknown = [...applied].filter((v) => !migrations.some((m) => m.version === v));
    if (unknown.length > 0) log(`database has migrations this checkout does not know: ${unknown.join(", ")}`);
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      if (!migration.up) throw new MigrateError(`${migration.name} has no up file`);
      await runStep(sql, migration, "up");
    }
    return currentVersion(sql);
  });
}

async function down(sql, target) {
  return withLock(sql, async () => {
    const migrations = new Map(readMigrations().map((m) => [m.version, m]));
    const toRevert = (await appliedVersions(sql)).filter((v) => v > target).reverse();
    // Check every down file before touching anything: a half-done rollback is the worst outcome.
    const missing = toRevert.filter((v) => !migrations.get(v)?.down);
    if (missing.length > 0) {
      const numbers = missing.map((v) => String(v).padStart(4, "0")).join(", ");
      throw new MigrateError(
        `cannot roll back to ${target}: no down file for migration ${numbers} in ${MIGRATIONS_DIR} ` +
          "(run down from a checkout that contains it); nothing was changed",
      );
    }
    for (const version of toRevert) await runStep(sql, migrations.get(version), "down");
    return currentVersion(sql);
  });
}

async function main(args) {
  const [command, arg, ...rest] = args;
  const argsOk =
    rest.length === 0 &&
    ((command === "up" && arg === undefined) ||
      (command === "version" && arg === undefined) ||
      (command === "down" && /^\d+$/.test(arg ?? "")));
  if (!argsOk) throw new MigrateError(USAGE);
  if (!process.env.DATABASE_URL) throw new MigrateError("DATABASE_URL is not set");

  // One connection: the advisory lock is per session, so every statement must share it.
  const sql = postgres(process.env.DATABASE_URL, {
    max: 1,
    connect_timeout: 10,
    onnotice: (notice) => log(`notice: ${notice.message}`),
    connection: { application_name: "hello-service migrate" },
  });
  try {
    if (command === "up") return await up(sql);
    if (command === "down") return await down(sql, Number(arg));
    return await currentVersion(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

try {
  console.log(String(await main(process.argv.slice(2))));
} catch (err) {
  log(err instanceof MigrateError ? err.message : `error: ${err.message}`);
  process.exitCode = 1;
}
