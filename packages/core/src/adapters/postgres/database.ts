import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import postgres, { type Sql } from "postgres";
import { ExternalError, UsageError } from "../../errors.js";

/** Where relctl keeps its state: a PostgreSQL server, or the embedded PostgreSQL (PGlite) in a folder. */
export type DatabaseTarget =
  | { readonly kind: "postgres"; readonly url: string }
  | { readonly kind: "embedded"; readonly dataDir: string };

/**
 * Reads the database from the environment: DATABASE_URL, else the seed's DB_HOST/DB_PORT/DB_NAME/
 * DB_USER/DB_PASS, else the embedded database under the state folder.
 */
export function resolveDatabaseTarget(env: NodeJS.ProcessEnv, stateDir: string): DatabaseTarget {
  if (env.DATABASE_URL) return { kind: "postgres", url: env.DATABASE_URL };
  if (env.DB_HOST) {
    const url = new URL("postgres://localhost");
    url.hostname = env.DB_HOST;
    url.port = env.DB_PORT ?? "5432";
    url.pathname = `/${encodeURIComponent(env.DB_NAME ?? "releases")}`;
    url.username = encodeURIComponent(env.DB_USER ?? "postgres");
    if (env.DB_PASS) url.password = encodeURIComponent(env.DB_PASS);
    return { kind: "postgres", url: url.toString() };
  }
  return { kind: "embedded", dataDir: resolve(stateDir, "db") };
}

/** Describes a target without its password. */
export function describeDatabaseTarget(target: DatabaseTarget): string {
  if (target.kind === "embedded") return `embedded PostgreSQL at ${target.dataDir}`;
  try {
    const u = new URL(target.url);
    return `PostgreSQL ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return "PostgreSQL (DATABASE_URL)";
  }
}

export interface Database {
  readonly sql: Sql;
  readonly target: DatabaseTarget;
  close(): Promise<void>;
}

const quiet = { onnotice: () => {} };

export async function openDatabase(
  target: DatabaseTarget,
  options: { max?: number } = {},
): Promise<Database> {
  if (target.kind === "postgres") {
    let sql: Sql;
    try {
      sql = postgres(target.url, { max: options.max ?? 10, ...quiet, connect_timeout: 10 });
      await sql`SELECT 1`;
    } catch (err) {
      throw new ExternalError(
        "db_unreachable",
        `database: cannot connect to ${describeDatabaseTarget(target)}: ${errorText(err)}`,
        {
          cause: err,
        },
      );
    }
    return { sql, target, close: () => sql.end({ timeout: 5 }) };
  }
  return openEmbedded(target);
}

interface EmbeddedServerInfo {
  readonly pid: number;
  readonly port: number;
}

/**
 * PGlite allows one process per data folder. The first relctl process to open the folder serves it
 * on a loopback port (pglite-socket) and records {pid, port}; other processes connect to that port
 * with the same postgres.js client, so the same SQL runs everywhere. PGlite is one backend: each
 * client keeps a single connection (max: 1) and no named prepared statements (they would collide
 * between clients of the one backend).
 */
async function openEmbedded(target: { kind: "embedded"; dataDir: string }): Promise<Database> {
  mkdirSync(target.dataDir, { recursive: true });
  const infoFile = join(target.dataDir, "..", "embedded-db.json");
  const lockFile = join(target.dataDir, "..", "embedded-db.lock");
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = readServerInfo(infoFile);
    if (info && isAlive(info.pid) && (await portOpen(info.port))) {
      const sql = postgres({
        host: "127.0.0.1",
        port: info.port,
        user: "postgres",
        database: "postgres",
        max: 1,
        prepare: false,
        ...quiet,
      });
      return { sql, target, close: () => sql.end({ timeout: 5 }) };
    }
    const fd = tryLock(lockFile);
    if (fd === undefined) {
      await sleep(100);
      continue;
    }
    try {
      return await serveEmbedded(target, infoFile, lockFile, fd);
    } catch (err) {
      closeSync(fd);
      rmSync(lockFile, { force: true });
      throw err;
    }
  }
  throw new ExternalError(
    "db_busy",
    `database: the embedded database at ${target.dataDir} is held by another process`,
    {
      hint: `stop the other relctl process, or remove ${lockFile} if none is running`,
    },
  );
}

async function serveEmbedded(
  target: { kind: "embedded"; dataDir: string },
  infoFile: string,
  lockFile: string,
  fd: number,
): Promise<Database> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create(target.dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 32 });
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  writeFileSync(infoFile, JSON.stringify({ pid: process.pid, port } satisfies EmbeddedServerInfo));
  const sql = postgres({
    host: "127.0.0.1",
    port,
    user: "postgres",
    database: "postgres",
    max: 1,
    prepare: false,
    ...quiet,
  });
  let closed = false;
  return {
    sql,
    target,
    async close() {
      if (closed) return;
      closed = true;
      await sql.end({ timeout: 5 });
      rmSync(infoFile, { force: true });
      await server.stop();
      await db.close();
      closeSync(fd);
      rmSync(lockFile, { force: true });
    },
  };
}

function readServerInfo(file: string): EmbeddedServerInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as EmbeddedServerInfo;
    return typeof v.pid === "number" && typeof v.port === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}

function tryLock(file: string): number | undefined {
  try {
    const fd = openSync(file, "wx");
    writeFileSync(fd, String(process.pid));
    return fd;
  } catch {
    // A lock left by a process that no longer runs is stale.
    try {
      const pid = Number(readFileSync(file, "utf8"));
      if (pid && !isAlive(pid)) rmSync(file, { force: true });
    } catch {
      /* raced with its owner */
    }
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      done(true);
    });
    s.on("error", () => done(false));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = (e?.message ?? String(err)).split("\n")[0] ?? "";
  // Never echo connection strings (they may carry passwords).
  return msg.replace(/postgres(ql)?:\/\/\S+/g, "postgres://[REDACTED]");
}

/** Validates that a value is a usable postgres URL, for config and flags. */
export function validateDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.protocol !== "postgres:" && u.protocol !== "postgresql:") throw new Error();
    return url;
  } catch {
    throw new UsageError("invalid_database_url", "DATABASE_URL: expected postgres://user:pass@host:port/db");
  }
}

/**
 * Serves a PGlite data folder on a loopback port for other programs (a sample service, its
 * migrations). The URL turns off named prepared statements, which would collide between the
 * clients of the one PGlite backend.
 */
export async function serveEmbeddedDatabase(
  dataDir: string,
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 32 });
  await server.start();
  const bound = Number(server.getServerConn().split(":").pop());
  return {
    url: `postgres://postgres@127.0.0.1:${bound}/postgres?prepare=false`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
