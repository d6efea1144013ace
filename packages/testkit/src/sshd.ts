import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { freePort, waitUntilListening } from "./net.js";

export const SSHD_PATH = "/usr/sbin/sshd";
const SSH_KEYGEN = "ssh-keygen";

/**
 * Markers in the sshd log at LogLevel VERBOSE (checked against OpenSSH 9.2):
 *   "Connection from 127.0.0.1 port N on …"            one per TCP connection
 *   "Accepted publickey for root from … ssh2: ED25519 …" one per successful authentication
 *   "Starting session: command for root from … id 0"    one per exec channel
 * ("Accepted key ED25519 … found at …" also appears before auth completes, so it is not counted.)
 */
const LOG_CONNECTION = /^Connection from /m;
const LOG_AUTH_ACCEPTED = /^Accepted publickey for /m;
const LOG_SESSION = /^Starting session: /m;

export interface SshdHandle {
  readonly port: number;
  readonly host: "127.0.0.1";
  readonly user: string;
  /** "SHA256:…" as printed by ssh-keygen -l. */
  readonly hostKeyFingerprint: string;
  /** "ssh-ed25519 AAAA…" (no comment). */
  readonly hostPublicKeyLine: string;
  readonly userKeyPath: string;
  /** A valid ed25519 private key that is NOT in authorized_keys. */
  readonly strangerKeyPath: string;
  readonly logPath: string;
  readonly dir: string;
  stop(): Promise<void>;
  /** Stops the listener (the host goes away), keeping its keys and port. */
  pause(): Promise<void>;
  /** Starts the listener again after pause(), on the same port with the same keys. */
  resume(): Promise<void>;
  /** Exec sessions started ("Starting session:" lines). */
  sessionsOpened(): number;
  /** Successful authentications ("Accepted publickey for" lines). */
  authsAccepted(): number;
  /** TCP connections accepted ("Connection from" lines). */
  connectionsSeen(): number;
  log(): string;
  /** SIGKILLs every per-connection sshd process (not the listener, not the users' commands). */
  dropConnections(): number;
}

export function sshdAvailable(): boolean {
  return existsSync(SSHD_PATH);
}

/**
 * true → run the SSH tests. When sshd is absent: warns and returns false, or throws when
 * RELCTL_REQUIRE_SSHD=1 (CI must not silently skip them).
 */
export function requireSshdOrSkip(): boolean {
  if (sshdAvailable()) return true;
  if (process.env.RELCTL_REQUIRE_SSHD === "1") {
    throw new Error(`RELCTL_REQUIRE_SSHD=1 but ${SSHD_PATH} is absent: SSH tests cannot run`);
  }
  console.warn(`SSH tests are SKIPPED: ${SSHD_PATH} is absent (set RELCTL_REQUIRE_SSHD=1 to fail instead)`);
  return false;
}

export function describeWithSshd(name: string, fn: () => void): void {
  let run: boolean;
  try {
    run = requireSshdOrSkip();
  } catch (error) {
    describe(name, () => {
      it("needs sshd", () => {
        throw error;
      });
    });
    return;
  }
  if (run) describe(name, fn);
  else describe.skip(name, fn);
}

function keygen(path: string, comment: string): void {
  execFileSync(SSH_KEYGEN, ["-q", "-N", "", "-t", "ed25519", "-C", comment, "-f", path], { stdio: "ignore" });
}

function fingerprintWithKeygen(publicKeyPath: string): string {
  const out = execFileSync(SSH_KEYGEN, ["-l", "-E", "sha256", "-f", publicKeyPath], { encoding: "utf8" });
  const match = /SHA256:[A-Za-z0-9+/]+/.exec(out);
  if (!match) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return match[0];
}

function count(text: string, marker: RegExp): number {
  return text.split("\n").filter((line) => marker.test(line)).length;
}

/** pid → [ppid, comm] for every process. */
function processTable(): Map<number, { ppid: number; comm: string }> {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,comm="], { encoding: "utf8" });
  const table = new Map<number, { ppid: number; comm: string }>();
  for (const line of out.split("\n")) {
    const match = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    if (match) table.set(Number(match[1]), { ppid: Number(match[2]), comm: match[3]!.trim() });
  }
  return table;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface StartSshdOptions {
  /** Extra sshd_config lines. */
  readonly extraConfig?: readonly string[];
  readonly startTimeoutMs?: number;
}

export async function startSshd(options: StartSshdOptions = {}): Promise<SshdHandle> {
  const dir = await mkdtemp(join(tmpdir(), "relctl-sshd-"));
  const hostKeyPath = join(dir, "host_ed25519_key");
  const userKeyPath = join(dir, "user_ed25519_key");
  const strangerKeyPath = join(dir, "stranger_ed25519_key");
  const authorizedKeysPath = join(dir, "authorized_keys");
  const configPath = join(dir, "sshd_config");
  const logPath = join(dir, "sshd.log");
  const user = userInfo().username;

  keygen(hostKeyPath, "relctl-test-host");
  keygen(userKeyPath, "relctl-test-user");
  keygen(strangerKeyPath, "relctl-test-stranger");
  writeFileSync(authorizedKeysPath, readFileSync(`${userKeyPath}.pub`));
  const [keyType, keyBase64] = readFileSync(`${hostKeyPath}.pub`, "utf8").trim().split(/\s+/);
  const port = await freePort();
  writeFileSync(
    configPath,
    [
      "ListenAddress 127.0.0.1",
      `Port ${port}`,
      `HostKey ${hostKeyPath}`,
      `AuthorizedKeysFile ${authorizedKeysPath}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "UseDNS no",
      "PrintMotd no",
      "MaxSessions 50",
      "LogLevel VERBOSE",
      ...(options.extraConfig ?? []),
      "",
    ].join("\n"),
  );
  // Privilege separation needs this directory; only root can create it.
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true });

  const launch = () => spawn(SSHD_PATH, ["-D", "-f", configPath, "-E", logPath], { stdio: "ignore" });
  let child = launch();
  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const halt = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await waitForExit(child, 3000);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await waitForExit(child, 3000);
      }
    }
  };
  const stop = async () => {
    await halt();
    await rm(dir, { recursive: true, force: true });
  };

  if (!(await waitUntilListening(child, port, options.startTimeoutMs ?? 10_000))) {
    const log = readLog();
    await stop();
    throw new Error(`sshd did not start on port ${port}:\n${log}`);
  }

  return {
    port,
    host: "127.0.0.1",
    user,
    hostKeyFingerprint: fingerprintWithKeygen(`${hostKeyPath}.pub`),
    hostPublicKeyLine: `${keyType} ${keyBase64}`,
    userKeyPath,
    strangerKeyPath,
    logPath,
    dir,
    stop,
    async pause() {
      await halt();
    },
    async resume() {
      child = launch();
      if (!(await waitUntilListening(child, port, options.startTimeoutMs ?? 10_000)))
        throw new Error(`sshd did not start again on port ${port}:\n${readLog()}`);
    },
    log: readLog,
    sessionsOpened: () => count(readLog(), LOG_SESSION),
    authsAccepted: () => count(readLog(), LOG_AUTH_ACCEPTED),
    connectionsSeen: () => count(readLog(), LOG_CONNECTION),
    dropConnections() {
      const listener = child.pid;
      if (listener === undefined) return 0;
      const table = processTable();
      const isDescendant = (pid: number): boolean => {
        let current = table.get(pid)?.ppid;
        for (let depth = 0; current !== undefined && depth < 20; depth++) {
          if (current === listener) return true;
          current = table.get(current)?.ppid;
        }
        return false;
      };
      let killed = 0;
      for (const [pid, info] of table) {
        // Per-connection processes are sshd (or sshd-session on newer OpenSSH); commands keep running.
        if (pid !== listener && info.comm.startsWith("sshd") && isDescendant(pid)) {
          try {
            process.kill(pid, "SIGKILL");
            killed++;
          } catch {
            // Already gone.
          }
        }
      }
      return killed;
    },
  };
}
