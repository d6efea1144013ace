import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import postgres, { type Sql } from "postgres";
import { ExternalError, UsageError } from "../../errors.js";
import { tracingEnabled } from "../../telemetry.js";
import { handleDatabaseNotice } from "./audit-chain.js";
import {
  connectEmbedded,
  DEFAULT_EMBEDDED_IDLE_SECONDS,
  embeddedFiles,
  parseEmbeddedIdle,
  serveWholeExchanges,
} from "./embedded.js";
import { tracedSql } from "./traced-sql.js";

/** Where relctl keeps its state: a PostgreSQL server, or the embedded PostgreSQL (PGlite) in a folder. */
export type DatabaseTarget =
  | {
      readonly kind: "postgres";
      readonly url: string;
      /** How long opening one connection may take, in seconds (RELCTL_DB_CONNECT_TIMEOUT). */
      readonly connectTimeoutSeconds?: number;
      /** Connections in the pool (RELCTL_DB_POOL_SIZE; default 10). */
      readonly poolSize?: number;
    }
  | {
      readonly kind: "embedded";
      readonly dataDir: string;
      /** How long the folder's server waits for a new client, in seconds (RELCTL_EMBEDDED_IDLE). */
      readonly idleSeconds?: number;
    };

/** The CLI's connect timeout when RELCTL_DB_CONNECT_TIMEOUT is not set; `relctl serve` uses 2 s. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

/**
 * RELCTL_DB_CONNECT_TIMEOUT: seconds (decimals allowed) from 0.1 to 300, or `fallback` when unset.
 */
export function parseConnectTimeout(value: string | undefined, fallback: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || !Number.isFinite(n) || n < 0.1 || n > 300) {
    throw new UsageError(
      "invalid_env",
      `RELCTL_DB_CONNECT_TIMEOUT: expected seconds from 0.1 to 300 (e.g. 2 or 0.5), got "${value}"`,
    );
  }
  return n;
}

/** RELCTL_DB_POOL_SIZE: how many connections a process keeps to a server, 1 to 100. */
export function parsePoolSize(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > 100) {
    throw new UsageError(
      "invalid_env",
      `RELCTL_DB_POOL_SIZE: expected a number of connections from 1 to 100, got "${value}"`,
    );
  }
  return n;
}

/**
 * Reads the database from the environment: DATABASE_URL, else the seed's DB_HOST/DB_PORT/DB_NAME/
 * DB_USER/DB_PASS, else the embedded database under the state folder. RELCTL_DB_CONNECT_TIMEOUT
 * bounds each connection attempt to a server; RELCTL_DB_POOL_SIZE sizes the pool.
 */
export function resolveDatabaseTarget(env: NodeJS.ProcessEnv, stateDir: string): DatabaseTarget {
  const target = resolveServer(env);
  if (!target) {
    return {
      kind: "embedded",
      dataDir: resolve(stateDir, "db"),
      idleSeconds: parseEmbeddedIdle(env.RELCTL_EMBEDDED_IDLE),
    };
  }
  const connectTimeoutSeconds = parseConnectTimeout(env.RELCTL_DB_CONNECT_TIMEOUT, Number.NaN);
  const poolSize = parsePoolSize(env.RELCTL_DB_POOL_SIZE);
  return {
    ...target,
    ...(Number.isNaN(connectTimeoutSeconds) ? {} : { connectTimeoutSeconds }),
    ...(poolSize === undefined ? {} : { poolSize }),
  };
}

function resolveServer(env: NodeJS.ProcessEnv): { kind: "postgres"; url: string } | undefined {
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
  return undefined;
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

/** Notices are not printed; the audit chain's (an event queued for its link) reach its listeners. */
const quiet = { onnotice: handleDatabaseNotice };

/**
 * The wait before a pool connection tries again after a failed attempt: postgres.js's default
 * grows to 20 s after a few failures, which would hold every query of an outage (and the first
 * ones after it) that long. Capped at 0.5 s, a connection is tried again at most 0.5 s after the
 * server is back.
 */
export function reconnectBackoffSeconds(failures: number): number {
  return Math.min(0.5, 0.05 * 2 ** Math.max(0, failures - 1));
}

export async function openDatabase(
  target: DatabaseTarget,
  options: { max?: number } = {},
): Promise<Database> {
  if (target.kind === "postgres") {
    let sql: Sql;
    try {
      sql = postgres(target.url, {
        max: options.max ?? target.poolSize ?? 10,
        ...quiet,
        connect_timeout: target.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS,
        backoff: reconnectBackoffSeconds,
      });
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
    const raw = sql;
    return { sql: tracingEnabled() ? tracedSql(sql) : sql, target, close: () => raw.end({ timeout: 5 }) };
  }
  const db = openEmbedded(target);
  try {
    await db.sql`SELECT 1`;
  } catch (err) {
    await db.close().catch(() => {});
    if (err instanceof ExternalError) throw err;
    throw new ExternalError(
      "db_unreachable",
      `database: cannot open ${describeDatabaseTarget(target)}: ${errorText(err)}`,
      { cause: err },
    );
  }
  return tracingEnabled() ? { ...db, sql: tracedSql(db.sql) } : db;
}

/**
 * Every process is a client of the folder's embedded server (see embedded.ts), which a client
 * starts when none runs. PGlite is one backend: each client keeps a single connection (max: 1) and
 * no named prepared statements (they would collide between clients of the one backend).
 */
function openEmbedded(target: Extract<DatabaseTarget, { kind: "embedded" }>): Database {
  const files = embeddedFiles(target.dataDir);
  const idleSeconds = target.idleSeconds ?? DEFAULT_EMBEDDED_IDLE_SECONDS;
  const sql = postgres({
    host: "127.0.0.1",
    user: "postgres",
    database: "postgres",
    max: 1,
    prepare: false,
    // Looked up on each new connection, so a client outlives the server it started with
    // (postgres.js supports a socket factory; its types do not declare it).
    ...({ socket: () => connectEmbedded(files, { idleSeconds }) } as object),
    backoff: reconnectBackoffSeconds,
    ...quiet,
  });
  return { sql, target, close: () => sql.end({ timeout: 5 }) };
}

/**
 * How a database call failed for want of the server, if it did:
 * - "unreachable": no connection could be opened (refused, timed out, the server starting up or
 *   shutting down, out of connections): the statement was never sent.
 * - "lost": the connection broke under a statement (reset, closed, the server terminated it): what
 *   was sent, a COMMIT included, may or may not have been applied.
 */
export type DatabaseOutage = "unreachable" | "lost";

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "57P03", // cannot_connect_now: starting up, shutting down, in recovery
  "53300", // too_many_connections
  "08001", // sqlclient_unable_to_establish_sqlconnection
  "08004", // sqlserver_rejected_establishment_of_sqlconnection
]);
const LOST_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT", // an open connection's keepalive gave up (postgres.js times a connect out as CONNECT_TIMEOUT)
  "EPIPE",
  "ECONNABORTED",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown: pg_ctl stop, pg_terminate_backend
  "57P02", // crash_shutdown
  "08000",
  "08003",
  "08006",
  "08007",
]);
/** Other clients' (node-postgres) and proxies' wording for the same failures. */
const UNREACHABLE_TEXT =
  /ECONNREFUSED|timeout exceeded when trying to connect|connection timeout|the database system is (starting up|shutting down|in recovery mode)|too many clients/i;
const LOST_TEXT = /Connection terminated|terminating connection|server closed the connection|socket hang up/i;

/** Classifies `err` (or what caused it) as a database outage; undefined for any other failure. */
export function databaseOutageOf(err: unknown): DatabaseOutage | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current && typeof current === "object"; depth++) {
    const e = current as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
    const code = typeof e.code === "string" ? e.code : "";
    if (UNREACHABLE_CODES.has(code)) return "unreachable";
    if (LOST_CODES.has(code)) return "lost";
    const message = typeof e.message === "string" ? e.message : "";
    if (UNREACHABLE_TEXT.test(message)) return "unreachable";
    if (LOST_TEXT.test(message)) return "lost";
    // Node's connect to a name with several addresses fails with an AggregateError of them.
    if (Array.isArray(e.errors) && e.errors.length > 0) current = e.errors[0];
    else current = e.cause;
  }
  return undefined;
}

/**
 * `err` as ExternalError `db_unavailable` when it is a database outage (see databaseOutageOf),
 * with `details.outage`; undefined otherwise. The message names no host (it may reach API
 * clients); the cause keeps the driver's error for the logs.
 */
export function toDatabaseUnavailable(err: unknown): ExternalError | undefined {
  if (err instanceof ExternalError && err.code === "db_unavailable") return err;
  const outage = databaseOutageOf(err);
  if (!outage) return undefined;
  const why = outage === "unreachable" ? "cannot connect" : "the connection was lost";
  return new ExternalError("db_unavailable", `database: unavailable (${why})`, {
    cause: err,
    details: { outage },
  });
}

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
  serveWholeExchanges(server);
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
