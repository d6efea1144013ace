#!/usr/bin/env node
// hello-service: a tiny HTTP service for exercising deploys and rollbacks.
//
//   PORT=8080 DATABASE_URL=postgres://... node server.mjs
//
// Environment: PORT and DATABASE_URL (required), HOST (optional listen address),
// PIDFILE (optional: the pid is written there, and removed on shutdown).
//
//   GET /health  200 {"status":"ok","version":"1.1.0","schema":2}
//                503 when the database is unreachable; 500 in a release that needs
//                FEATURE_FLAGS_URL where it is not set (v1.2.0 in production)
//   GET /        "hello from <version>"
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import postgres from "postgres";
import { NEEDS_FEATURE_FLAGS_URL, RECORD_VISITS } from "./flags.mjs";

const VERSION = readFileSync(new URL("VERSION", import.meta.url), "utf8").trim();
const { PORT, DATABASE_URL, HOST, PIDFILE } = process.env;
if (!PORT || !DATABASE_URL) {
  console.error("hello-service: PORT and DATABASE_URL must be set");
  process.exit(1);
}

const sql = postgres(DATABASE_URL, {
  max: 5,
  connect_timeout: 3,
  idle_timeout: 30,
  onnotice: () => {},
  connection: { application_name: `hello-service ${VERSION}` },
});

/** Highest applied migration, read on every call so /health tells the truth after a migration. */
async function schemaVersion() {
  try {
    const [row] = await sql`select coalesce(max(version), 0)::int as version from schema_migrations`;
    return row.version;
  } catch (err) {
    if (err.code === "42P01") return 0; // undefined_table: no migration has run yet
    throw err;
  }
}

function send(res, status, body) {
  const json = typeof body !== "string";
  res.writeHead(status, { "content-type": json ? "application/json" : "text/plain; charset=utf-8" });
  res.end(json ? JSON.stringify(body) : `${body}\n`);
}

async function handle(req, res) {
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  if (req.method === "GET" && pathname === "/health") {
    let schema;
    try {
      schema = await schemaVersion();
    } catch (err) {
      return send(res, 503, { status: "unavailable", version: VERSION, error: `database: ${err.message}` });
    }
    if (NEEDS_FEATURE_FLAGS_URL && !process.env.FEATURE_FLAGS_URL) {
      return send(res, 500, {
        status: "broken",
        version: VERSION,
        schema,
        error: "FEATURE_FLAGS_URL is not set",
      });
    }
    return send(res, 200, { status: "ok", version: VERSION, schema });
  }
  if (req.method === "GET" && pathname === "/") {
    if (RECORD_VISITS) await sql`insert into visits default values`;
    return send(res, 200, `hello from ${VERSION}`);
  }
  return send(res, 404, "not found");
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(`hello-service: ${req.method} ${req.url}: ${err.message}`);
    if (!res.headersSent) send(res, 500, "internal error");
  });
});

server.on("error", (err) => {
  console.error(`hello-service: ${err.message}`);
  process.exit(1);
});

server.listen(Number(PORT), HOST, () => {
  if (PIDFILE) writeFileSync(PIDFILE, `${process.pid}\n`);
  console.log(`hello-service ${VERSION} listening on port ${server.address().port}`);
});

let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`hello-service ${VERSION}: ${signal}, shutting down`);
  server.close(async () => {
    await sql.end({ timeout: 5 });
    if (PIDFILE) rmSync(PIDFILE, { force: true });
    process.exit(0);
  });
  server.closeIdleConnections();
  // Requests still running after 5 s are cut off rather than holding the shutdown forever.
  setTimeout(() => server.closeAllConnections(), 5000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
