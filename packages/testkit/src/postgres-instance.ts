import { execFile, execFileSync } from "node:child_process";
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./net.js";

const run = promisify(execFile);

export interface PostgresInstance {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, loopback only). */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logPath: string;
  /** Whether the server was started and not stopped since, as far as this handle knows. */
  running(): boolean;
  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -w`: "fast" ends the sessions and shuts down cleanly; "immediate" is a crash. */
  stop(mode?: "fast" | "immediate"): Promise<void>;
  /** `pg_ctl restart -w`, on the same port and data. */
  restart(): Promise<void>;
  /** The server's log so far. */
  log(): string;
  /** Stops the server if it runs and removes its folder. */
  destroy(): Promise<void>;
}

/**
 * The folder with initdb and pg_ctl: RELCTL_PG_BINDIR, else the newest /usr/lib/postgresql/<N>/bin
 * (Debian, Ubuntu), else `pg_config --bindir`; undefined when none has them.
 */
export function findPostgresBinDir(): string | undefined {
  const has = (dir: string) => existsSync(join(dir, "initdb")) && existsSync(join(dir, "pg_ctl"));
  const fromEnv = process.env.RELCTL_PG_BINDIR;
  if (fromEnv) return has(fromEnv) ? fromEnv : undefined;
  const root = "/usr/lib/postgresql";
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (has(join(root, v, "bin"))) return join(root, v, "bin");
  }
  try {
    const dir = execFileSync("pg_config", ["--bindir"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return has(dir.trim()) ? dir.trim() : undefined;
  } catch {
    return undefined;
  }
}

/** PostgreSQL refuses to run as root: as root, its programs run as this user (the packages' one). */
const SERVER_USER = "postgres";

function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync("id", [flag, SERVER_USER], { encoding: "utf8" }).trim());
  return { uid: id("-u"), gid: id("-g") };
}

/**
 * A PostgreSQL server of the caller's own: initdb into a temporary folder, a free loopback port,
 * its socket in that folder, started with pg_ctl. Never the machine's server (which a test must
 * not stop). As root, the server runs as the `postgres` user (runuser). Durability is off
 * (fsync, synchronous_commit): it is for tests and benchmarks.
 */
export async function startPostgresInstance(
  options: { binDir?: string; settings?: Readonly<Record<string, string>> } = {},
): Promise<PostgresInstance> {
  const binDir = options.binDir ?? findPostgresBinDir();
  if (!binDir) {
    throw new Error("PostgreSQL's initdb and pg_ctl were not found: set RELCTL_PG_BINDIR to their folder");
  }
  const owner = serverUser();
  const dir = mkdtempSync(join(tmpdir(), "relctl-pg-"));
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const dataDir = join(dir, "data");
  const logPath = join(dir, "postgres.log");
  const exec = (program: string, args: string[]) => {
    const file = join(binDir, program);
    const [cmd, argv] = owner ? ["runuser", ["-u", SERVER_USER, "--", file, ...args]] : [file, args];
    return run(cmd, argv, { timeout: 60_000, maxBuffer: 4 * 1024 * 1024 });
  };
  let running = false;
  const stopNow = () => {
    if (!running) return;
    try {
      const file = join(binDir, "pg_ctl");
      const args = ["-D", dataDir, "-m", "immediate", "-w", "stop"];
      if (owner) execFileSync("runuser", ["-u", SERVER_USER, "--", file, ...args], { stdio: "ignore" });
      else execFileSync(file, args, { stdio: "ignore" });
    } catch {
      /* already gone */
    }
    running = false;
  };
  // A test process that exits without destroy() must not leave a server behind.
  process.once("exit", stopNow);

  try {
    await exec("initdb", [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    const port = await freePort();
    const settings: Record<string, string> = {
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${dir}'`,
      fsync: "off",
      synchronous_commit: "off",
      full_page_writes: "off",
      max_connections: "50",
      ...options.settings,
    };
    appendFileSync(
      join(dataDir, "postgresql.conf"),
      `\n# relctl test instance\n${Object.entries(settings)
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n")}\n`,
    );
    const ctl = (...args: string[]) => exec("pg_ctl", ["-D", dataDir, "-w", "-t", "30", ...args]);
    const instance: PostgresInstance = {
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      port,
      dataDir,
      logPath,
      running: () => running,
      async start() {
        await ctl("-l", logPath, "start");
        running = true;
      },
      async stop(mode = "fast") {
        await ctl("-m", mode, "stop");
        running = false;
      },
      async restart() {
        await ctl("-m", "fast", "-l", logPath, "restart");
        running = true;
      },
      log: () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : ""),
      async destroy() {
        if (running) await instance.stop("immediate").catch(stopNow);
        process.removeListener("exit", stopNow);
        rmSync(dir, { recursive: true, force: true });
      },
    };
    await instance.start();
    return instance;
  } catch (err) {
    stopNow();
    process.removeListener("exit", stopNow);
    const log = existsSync(logPath) ? `\n${readFileSync(logPath, "utf8").slice(-2000)}` : "";
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL test instance did not start: ${(err as Error).message}${log}`);
  }
}
