import { spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { connect, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { ExternalError, UsageError } from "../../errors.js";

/**
 * The embedded store (PGlite) is served by a small process of its own, one per state folder:
 * the first relctl command that needs it starts it, detached; every command (the first included)
 * is a client over a loopback port, found through `embedded-db.json` in the state folder. The
 * server stays up while clients are connected and for RELCTL_EMBEDDED_IDLE seconds after the last
 * one leaves (default 300), so the next command does not pay PGlite's start again; it also stops
 * when its folder is removed. A client reaches the server through a socket factory that looks the
 * server up on every new connection: when the server dies (killed, out of memory), the next
 * statement starts a new one, or finds the one another client started, and the command goes on.
 */
export interface EmbeddedServerInfo {
  readonly pid: number;
  readonly port: number;
}

export const DEFAULT_EMBEDDED_IDLE_SECONDS = 300;

/** RELCTL_EMBEDDED_IDLE: seconds from 0 to 86400 the embedded server waits for a new client. */
export function parseEmbeddedIdle(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return DEFAULT_EMBEDDED_IDLE_SECONDS;
  const n = Number(value);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(value) || n > 86400) {
    throw new UsageError(
      "invalid_env",
      `RELCTL_EMBEDDED_IDLE: expected seconds from 0 to 86400 (e.g. 300), got "${value}"`,
    );
  }
  return n;
}

export interface EmbeddedFiles {
  readonly dataDir: string;
  readonly infoFile: string;
  readonly lockFile: string;
  readonly logFile: string;
}

export function embeddedFiles(dataDir: string): EmbeddedFiles {
  const stateDir = dirname(dataDir);
  return {
    dataDir,
    infoFile: join(stateDir, "embedded-db.json"),
    lockFile: join(stateDir, "embedded-db.lock"),
    logFile: join(stateDir, "embedded-db.log"),
  };
}

/** How long a client waits for a server to start (PGlite's first start creates the cluster). */
const START_DEADLINE_MS = 60_000;

/**
 * The port of a live server for `dataDir`, starting one when none runs. Several clients may race:
 * each may spawn a server, the server that takes the folder's lock serves, the others exit at once.
 */
export async function ensureEmbeddedServer(
  files: EmbeddedFiles,
  options: { idleSeconds: number },
): Promise<EmbeddedServerInfo> {
  mkdirSync(files.dataDir, { recursive: true });
  const deadline = Date.now() + START_DEADLINE_MS;
  let child: { exited?: number | null; signal?: string | null } | undefined;
  while (Date.now() < deadline) {
    const info = readServerInfo(files.infoFile);
    if (info && isAlive(info.pid) && (await portOpen(info.port))) return info;
    // A server this client started that failed (not one that lost the race for the lock).
    if (child?.exited !== undefined && child.exited !== LOCK_TAKEN && child.exited !== 0) break;
    const holder = lockHolder(files.lockFile);
    if (holder === undefined && (child === undefined || child.exited !== undefined)) {
      child = startServer(files, options.idleSeconds);
    }
    await sleep(40);
  }
  const log = tail(files.logFile);
  throw new ExternalError(
    "db_busy",
    `database: the embedded database at ${files.dataDir} did not start${log ? `: ${log}` : ""}`,
    { hint: `see ${files.logFile}; stop any process holding ${files.lockFile} and try again` },
  );
}

/** A connected socket to the folder's server, for postgres.js's `socket` option. */
export async function connectEmbedded(
  files: EmbeddedFiles,
  options: { idleSeconds: number },
): Promise<Socket> {
  const known = readServerInfo(files.infoFile);
  if (known && isAlive(known.pid)) {
    try {
      return await openSocket(known.port);
    } catch {
      /* gone: look it up (or start it) below */
    }
  }
  for (let attempt = 0; ; attempt++) {
    const info = await ensureEmbeddedServer(files, options);
    try {
      return await openSocket(info.port);
    } catch (err) {
      // The server died between the look-up and the connect: look again.
      if (attempt >= 3) throw err;
    }
  }
}

/** Stops the folder's server, if one runs; resolves once it has exited. */
export async function stopEmbeddedServer(dataDir: string): Promise<boolean> {
  const files = embeddedFiles(dataDir);
  const info = readServerInfo(files.infoFile);
  const pid = info?.pid ?? lockHolder(files.lockFile);
  if (pid === undefined || !isAlive(pid)) return false;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await sleep(25);
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return true;
}

const LOCK_TAKEN = 3;

function startServer(files: EmbeddedFiles, idleSeconds: number): { exited?: number | null } {
  const require = createRequire(import.meta.url);
  const pglite = require.resolve("@electric-sql/pglite");
  const socket = require.resolve("@electric-sql/pglite-socket");
  const log = openSync(files.logFile, "a");
  const state: { exited?: number | null } = {};
  try {
    const child = spawn(
      process.execPath,
      [
        "--input-type=commonjs",
        "-e",
        SERVER_SOURCE,
        pglite,
        socket,
        files.dataDir,
        files.infoFile,
        files.lockFile,
        String(idleSeconds * 1000),
      ],
      // Its own session, away from any folder a test or an operator may remove.
      { detached: true, cwd: "/", stdio: ["ignore", log, log], env: { PATH: process.env.PATH ?? "" } },
    );
    child.on("exit", (code) => {
      state.exited = code;
    });
    child.on("error", () => {
      state.exited = -1;
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  return state;
}

/**
 * The server's program, run by `node -e` so it needs no file of its own in either the sources or
 * the build. argv: pglite module, pglite-socket module, data folder, info file, lock file, idle ms.
 */
// PGlite is one backend: its socket server queues the clients' messages one by one and keeps to
// one client only inside a transaction, so two clients' extended-protocol exchanges (Parse, Bind,
// Execute ... Sync) interleave and clobber each other's unnamed statement and portal ("portal does
// not exist", or one client reading another's empty result); a failed message also stalled the
// queue for good. Here a client keeps the backend from its first message to the end of its
// exchange (Sync or a simple Query, outside a transaction), and a failure fails that message only.
// Plain JavaScript, one source for both users: the server process (SERVER_SOURCE embeds it) and
// serveEmbeddedDatabase in this process (serveWholeExchanges below).
const WHOLE_EXCHANGES_SOURCE = String.raw`
function serveWholeExchanges(server) {
  const q = server.queryQueue;
  if (!q || !Array.isArray(q.queue) || typeof q.clearQueueForHandler !== "function") {
    throw new Error("pglite-socket: unexpected query queue; pin the version this server was written for");
  }
  let owner = null;
  const ends = (m) => {
    const t = m[0];
    const startup = m.length >= 8 && ((m[4] << 24) | (m[5] << 16) | (m[6] << 8) | m[7]) === 196608;
    return startup || t === 0x53 || t === 0x51 || t === 0x58;
  };
  q.processQueue = async function () {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const at = owner === null ? 0 : this.queue.findIndex((x) => x.handlerId === owner);
        if (at === -1) break;
        const item = this.queue.splice(at, 1)[0];
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, { onRawData: (d) => { bytes += d.length; item.onData(d); } }),
          );
          item.resolve(bytes);
        } catch (err) {
          item.reject(err);
        }
        this.lastHandlerId = item.handlerId;
        owner = ends(item.message) && !this.db.isInTransaction() ? null : item.handlerId;
      }
    } finally {
      this.processing = false;
    }
  };
  const clear = q.clearQueueForHandler.bind(q);
  q.clearQueueForHandler = (id) => {
    clear(id);
    if (owner === id) owner = null;
    setImmediate(() => q.processQueue());
  };
}
`;

/** Makes a PGLiteSocketServer serve each client's exchange whole (see WHOLE_EXCHANGES_SOURCE). */
export const serveWholeExchanges = new Function(
  `${WHOLE_EXCHANGES_SOURCE}\nreturn serveWholeExchanges;`,
)() as (server: unknown) => void;

const SERVER_SOURCE = String.raw`
const fs = require("node:fs");
const [pgliteModule, socketModule, dataDir, infoFile, lockFile, idleText] = process.argv.slice(1);
const idleMs = Number(idleText);
process.title = "relctl embedded-db " + dataDir;
const log = (m) => process.stdout.write(new Date().toISOString() + " " + process.pid + " " + m + "\n");
function alive(pid) {
  try { process.kill(pid, 0); } catch (e) { return e.code === "EPERM"; }
  try { return !/^\d+ \(.*\) Z/.test(fs.readFileSync("/proc/" + pid + "/stat", "utf8")); } catch { return true; }
}
function takeLock() {
  for (let i = 0; i < 2; i++) {
    try {
      const fd = fs.openSync(lockFile, "wx");
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return true;
    } catch {
      try {
        const pid = Number(fs.readFileSync(lockFile, "utf8"));
        if (pid && !alive(pid)) { fs.rmSync(lockFile, { force: true }); continue; }
      } catch {}
      return false;
    }
  }
  return false;
}
if (!takeLock()) process.exit(${LOCK_TAKEN});
let stopping = false;
function release() {
  try { if (JSON.parse(fs.readFileSync(infoFile, "utf8")).pid === process.pid) fs.rmSync(infoFile, { force: true }); } catch {}
  try { if (Number(fs.readFileSync(lockFile, "utf8")) === process.pid) fs.rmSync(lockFile, { force: true }); } catch {}
}
${WHOLE_EXCHANGES_SOURCE}
(async () => {
  const { PGlite } = await import(require("node:url").pathToFileURL(pgliteModule).href);
  const { PGLiteSocketServer } = await import(require("node:url").pathToFileURL(socketModule).href);
  const db = await PGlite.create(dataDir);
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 64 });
  serveWholeExchanges(server);
  await server.start();
  const port = Number(server.getServerConn().split(":").pop());
  fs.writeFileSync(infoFile + ".tmp" + process.pid, JSON.stringify({ pid: process.pid, port }));
  fs.renameSync(infoFile + ".tmp" + process.pid, infoFile);
  log("serving " + dataDir + " on 127.0.0.1:" + port);
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    log("stopping: " + why);
    release();
    try { await server.stop(); } catch {}
    try { await db.close(); } catch {}
    process.exit(0);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  let idleSince = Date.now();
  setInterval(() => {
    if (!fs.existsSync(dataDir)) return stop("data folder removed");
    if (server.getStats().activeConnections > 0) idleSince = Date.now();
    else if (Date.now() - idleSince >= idleMs) stop("idle");
  }, Math.max(50, Math.min(1000, idleMs / 4)));
})().catch((err) => {
  log("failed: " + (err && err.stack || err));
  release();
  process.exit(1);
});
`;

export function readServerInfo(file: string): EmbeddedServerInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(file, "utf8")) as EmbeddedServerInfo;
    return typeof v.pid === "number" && typeof v.port === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The pid holding the folder's lock, when that process still runs. */
function lockHolder(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8"));
    return pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` runs; a zombie (exited, not yet reaped by its parent) does not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((done, fail) => {
    const s = connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.removeAllListeners("error");
      done(s);
    });
    s.once("error", fail);
  });
}

function portOpen(port: number): Promise<boolean> {
  return openSocket(port).then(
    (s) => {
      s.destroy();
      return true;
    },
    () => false,
  );
}

/** The last line of the server's log, for an error message. */
function tail(file: string): string {
  if (!existsSync(file)) return "";
  try {
    const size = statSync(file).size;
    const fd = openSync(file, "r");
    const buf = Buffer.alloc(Math.min(size, 2048));
    readSync(fd, buf, 0, buf.length, size - buf.length);
    closeSync(fd);
    const lines = buf.toString("utf8").trim().split("\n");
    return (lines[lines.length - 1] ?? "").slice(0, 300);
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
