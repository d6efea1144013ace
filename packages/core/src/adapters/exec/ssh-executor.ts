import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Algorithms, AuthenticationType, Client, ClientChannel, ConnectConfig } from "ssh2";
import { BugError, ExternalError, UsageError } from "../../errors.js";
import type {
  Executor,
  HostSession,
  HostTarget,
  RunOptions,
  Step,
  StepResult,
} from "../../ports/executor.js";
import {
  buildRemoteCommand,
  createOutputCollector,
  END_STEP_GROUP,
  quoteArgv,
  timeoutSeconds,
} from "./quote.js";
import {
  createEndScanner,
  newNonce,
  type SessionShell,
  SHELL_LOOP,
  shellRequest,
  wireShell,
} from "./ssh-shell.js";

type SshClient = Client;

let clientLoaded: Promise<typeof Client> | undefined;
/**
 * ssh2, imported on first use (commands that never open SSH do not pay for it) and once per
 * process: its first import costs 30-60 ms of start-up.
 */
function loadClient(): Promise<typeof Client> {
  clientLoaded ??= import("ssh2").then((m) => m.default.Client);
  // A failed import is tried again by the next caller.
  clientLoaded.catch(() => {
    clientLoaded = undefined;
  });
  return clientLoaded;
}
/** Starts loading ssh2 (see loadClient) without waiting for it; a failure surfaces at connect. */
export function preloadSshClient(): void {
  loadClient().catch(() => {});
}
type SshError = Error & { level?: string; code?: string };

const DEFAULT_CONNECT_TIMEOUT_MS = 15_000;
const KEEPALIVE_INTERVAL_MS = 10_000;
const KEEPALIVE_COUNT_MAX = 3;
/** The remote `timeout` should end the step first; this local timer only covers a remote that does not. */
const SAFETY_NET_MS = 3000;
/** How long close() waits for the server to end the connection. */
const CLOSE_WAIT_MS = 2000;
/** `timeout` exits 124 when it stopped the command, 137 (128+KILL) when it had to KILL it. */
const TIMEOUT_EXIT_CODES = new Set([124, 137]);

export interface SshExecutorOptions {
  /** Extra ssh2 debug output, e.g. `(line) => console.error(line)`. Never includes secrets. */
  readonly debug?: (line: string) => void;
  /**
   * Run a session's steps through one shell (one login per host per run; see ssh-shell.ts).
   * Default: on, unless RELCTL_SSH_SHARED_SHELL=0.
   */
  readonly sharedShell?: boolean;
}

export interface ScannedHostKey {
  readonly keyType: string;
  /** "SHA256:base64nopad" */
  readonly fingerprint: string;
  /** "ssh-ed25519 AAAA…" */
  readonly publicKeyLine: string;
}

/** OpenSSH fingerprint of a raw public key blob: "SHA256:" + base64 (no padding) of its SHA-256. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type stored at the start of an SSH public key blob ("ssh-ed25519", …). */
function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return "unknown";
  const length = keyBlob.readUInt32BE(0);
  if (length > 64 || keyBlob.length < 4 + length) return "unknown";
  return keyBlob.subarray(4, 4 + length).toString("latin1");
}

interface ExpectedHostKey {
  readonly fingerprint: string;
  /** When the key's type is known, only that key is asked from the server, so it cannot present another one. */
  readonly algorithms?: readonly string[];
}

function hostLabel(target: HostTarget): string {
  return `${target.name} (${target.user}@${target.address}:${target.port})`;
}

function hostKeyAlgorithms(keyType: string): readonly string[] | undefined {
  if (keyType === "ssh-rsa") return ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"];
  if (/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521))$/.test(keyType)) return [keyType];
  return undefined;
}

function parseExpectedHostKey(target: HostTarget): ExpectedHostKey {
  const raw = target.hostKey?.trim();
  if (!raw) {
    throw new UsageError("host_key_missing", `no host key configured for ${hostLabel(target)}`, {
      hint: "run `relctl hosts trust <env>` to record the host's key",
    });
  }
  if (raw.startsWith("SHA256:")) return { fingerprint: raw.replace(/=+$/, "") };
  const parts = raw.split(/\s+/);
  // Accept "type base64 [comment]" and known_hosts lines ("host type base64").
  const typeIndex = parts.findIndex((p) => /^(ssh-|ecdsa-|sk-)/.test(p));
  const base64 = typeIndex >= 0 ? parts[typeIndex + 1] : undefined;
  if (base64 === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
    throw new UsageError(
      "host_key_invalid",
      `host key for ${target.name} is neither "SHA256:…" nor "type base64"`,
      {
        hint: "run `relctl hosts trust <env>` to record the host's key",
      },
    );
  }
  const blob = Buffer.from(base64, "base64");
  const algorithms = hostKeyAlgorithms(keyTypeOf(blob));
  return algorithms ? { fingerprint: fingerprintOf(blob), algorithms } : { fingerprint: fingerprintOf(blob) };
}

interface AuthConfig {
  readonly config: Pick<ConnectConfig, "privateKey" | "agent" | "password">;
  readonly methods: readonly AuthenticationType[];
}

function authConfig(target: HostTarget): AuthConfig {
  const config: { privateKey?: Buffer; agent?: string; password?: string } = {};
  const methods: AuthenticationType[] = [];
  if (target.privateKeyPath !== undefined) {
    try {
      config.privateKey = readFileSync(target.privateKeyPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
      throw new UsageError(
        "ssh_key_unreadable",
        `cannot read private key ${target.privateKeyPath} for ${target.name}: ${code}`,
      );
    }
    methods.push("publickey");
  }
  if (target.agent !== undefined && target.agent !== false) {
    const socket = target.agent === true ? process.env.SSH_AUTH_SOCK : target.agent;
    if (socket) {
      config.agent = socket;
      methods.push("agent");
    } else if (methods.length === 0 && target.password === undefined) {
      throw new UsageError(
        "ssh_agent_missing",
        `SSH agent requested for ${target.name} but SSH_AUTH_SOCK is not set`,
      );
    }
  }
  if (target.password !== undefined) {
    config.password = target.password;
    methods.push("password");
  }
  if (methods.length === 0) {
    throw new UsageError("ssh_auth_missing", `no SSH authentication configured for ${hostLabel(target)}`, {
      hint: "set privateKeyPath, agent or password for the host",
    });
  }
  return { config, methods };
}

function connectError(target: HostTarget, error: SshError, timeoutMs: number): ExternalError {
  const reason =
    error.level === "client-timeout"
      ? `timed out after ${timeoutMs} ms`
      : (error.code ?? error.message.split("\n")[0] ?? "connection failed");
  return new ExternalError("ssh_connect_failed", `cannot connect to ${hostLabel(target)}: ${reason}`, {
    cause: error,
  });
}

interface Counter {
  count: number;
}

async function connect(
  target: HostTarget,
  counter: Counter,
  options: SshExecutorOptions,
): Promise<SshClient> {
  const expected = parseExpectedHostKey(target);
  const auth = authConfig(target);
  const readyTimeout = target.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const Client = await loadClient();

  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: string | undefined;
    let mismatch = false;
    let verified = false;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      reject(error);
    };

    client.on("ready", () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });
    client.on("error", (error: SshError) => {
      if (mismatch) {
        fail(
          new ExternalError(
            "host_key_mismatch",
            `host key mismatch for ${hostLabel(target)}: expected ${expected.fingerprint}, server presented ${presented}`,
            {
              hint: "if the host was reinstalled, check its new key out of band, then run `relctl hosts trust <env>`",
            },
          ),
        );
      } else if (error.level === "client-authentication") {
        fail(
          new ExternalError(
            "ssh_auth_failed",
            `authentication failed for ${hostLabel(target)} (tried ${auth.methods.join(", ")})`,
          ),
        );
      } else {
        fail(connectError(target, error, readyTimeout));
      }
    });
    client.on("close", () => {
      fail(new ExternalError("ssh_connect_failed", `connection to ${hostLabel(target)} closed during setup`));
    });

    const config: ConnectConfig = {
      host: target.address,
      port: target.port,
      username: target.user,
      ...auth.config,
      readyTimeout,
      keepaliveInterval: KEEPALIVE_INTERVAL_MS,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      agentForward: false,
      // The configured methods, in order, without ssh2's opening "none" request (one round trip).
      authHandler: [...auth.methods],
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        if (presented !== expected.fingerprint) {
          mismatch = true;
          return false; // ssh2 then aborts the key exchange: no authentication is attempted
        }
        // ssh2 calls this again on every re-key; count the connection's first handshake only.
        if (!verified) counter.count++;
        verified = true;
        return true;
      },
    };
    if (expected.algorithms) {
      config.algorithms = { serverHostKey: [...expected.algorithms] } as Algorithms;
    }
    if (options.debug) config.debug = options.debug;
    try {
      client.connect(config);
      // ssh2 leaves Nagle's algorithm on: a small packet sent while the previous one is unacknowledged
      // waits for the server's delayed ACK (40 ms on Linux). Authentication's exchanges, each step's
      // command and its end are all small packets.
      client.setNoDelay(true);
    } catch (error) {
      // ssh2 throws synchronously for unparsable keys; its message names the problem, never the key.
      const reason = error instanceof Error ? (error.message.split("\n")[0] ?? "") : "";
      fail(
        new UsageError(
          "ssh_key_invalid",
          `cannot use private key ${target.privateKeyPath ?? "(agent)"} for ${target.name}: ${reason}`,
        ),
      );
    }
  });
}

/**
 * Sends an SSH "signal" request. OpenSSH delivers it with killpg() to the session's process group;
 * thanks to `exec` in the remote command that group is `timeout` and the command it runs. OpenSSH
 * refuses signals for root sessions (no post-auth privilege separation): there the remote
 * `timeout -k` is what stops the command.
 * ssh2's Channel.signal() silently does nothing once our stdin EOF was sent (always, here), so the
 * request goes through ssh2's protocol object, falling back to the public method if that changes.
 */
function signalChannel(channel: ClientChannel, signal: string): void {
  const internals = channel as unknown as {
    _client?: { _protocol?: { signal?: (id: number, signal: string) => void } };
    outgoing?: { id?: number; state?: string };
  };
  const protocol = internals._client?._protocol;
  const { id, state } = internals.outgoing ?? {};
  try {
    if (typeof protocol?.signal === "function" && id !== undefined && (state === "open" || state === "eof")) {
      protocol.signal(id, signal);
    } else {
      channel.signal(signal);
    }
  } catch {
    // The channel or connection is already closing.
  }
}

/** A step's result: a timeout, a lost connection or an interruption leaves no exit code. */
function stepResult(
  ended: {
    exitCode: number | null;
    connectionLost: boolean;
    interrupted: boolean;
    durationMs: number;
    output: ReturnType<typeof createOutputCollector>;
  },
  deadlinePassed: boolean,
): StepResult {
  const { exitCode, connectionLost, interrupted, durationMs, output } = ended;
  const timedOut = !connectionLost && !interrupted && deadlinePassed;
  return {
    exitCode: timedOut || connectionLost || interrupted ? null : exitCode,
    timedOut,
    connectionLost,
    ...(interrupted ? { interrupted } : {}),
    durationMs,
    ...output.finish(),
  };
}

function createSshSession(target: HostTarget, client: SshClient, sharedShell: boolean): HostSession {
  let closed = false;
  let lost = false;
  const onLost = new Set<() => void>();
  const markLost = () => {
    if (closed || lost) return;
    lost = true;
    for (const notify of [...onLost]) notify();
  };
  // Keep an error listener for the whole session: an unhandled 'error' would crash the process.
  client.on("error", markLost);
  client.on("end", markLost);
  client.on("close", markLost);

  /**
   * Ends a step's process group over a channel of its own (OpenSSH refuses signals for root
   * sessions; a shared shell keeps running). `ended` once that channel closes, `failed` when no
   * channel could be opened.
   */
  const endGroup = (pidFile: string, ended?: () => void, failed: (() => void) | undefined = ended) => {
    try {
      client.exec(quoteArgv(["sh", "-c", END_STEP_GROUP, "sh", pidFile]), (error, ch) => {
        if (error) return failed?.();
        ch.on("close", () => ended?.());
        ch.resume();
        ch.stderr.resume();
        ch.end();
      });
    } catch {
      failed?.();
    }
  };

  const runExec = (step: Step, options: RunOptions | undefined) =>
    new Promise<StepResult>((resolve, reject) => {
      const command = buildRemoteCommand(step);
      const remoteDeadlineMs = timeoutSeconds(step) * 1000;
      const started = performance.now();
      const output = createOutputCollector(step.sensitive, options?.onOutput);
      let channel: ClientChannel | undefined;
      let exitCode: number | null = null;
      let exitSignal: string | undefined;
      let safetyFired = false;
      let settled = false;

      const finish = (connectionLost: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(safetyNet);
        onLost.delete(lostHandler);
        options?.signal?.removeEventListener("abort", onAbort);
        const durationMs = Math.round(performance.now() - started);
        // The remote deadline is whole seconds after the remote start, which is after `started`.
        const killedByRemoteTimeout =
          durationMs >= remoteDeadlineMs &&
          ((exitCode !== null && TIMEOUT_EXIT_CODES.has(exitCode)) ||
            exitSignal === "KILL" ||
            exitSignal === "TERM");
        resolve(
          stepResult(
            { exitCode, connectionLost, interrupted, durationMs, output },
            safetyFired || killedByRemoteTimeout,
          ),
        );
      };
      let interrupted = false;
      const onAbort = () => {
        if (settled || interrupted) return;
        interrupted = true;
        // End the step's process group on the host, then let the channel close as the step ends.
        const stop = () => {
          if (channel) signalChannel(channel, "TERM");
        };
        if (!step.pidFile) return stop();
        endGroup(step.pidFile, () => channel?.close(), stop);
      };
      if (options?.signal?.aborted) onAbort();
      else options?.signal?.addEventListener("abort", onAbort, { once: true });

      const lostHandler = () => {
        // Closing our end frees the channel id; the remote command is stopped by its `timeout` wrapper.
        channel?.destroy();
        finish(true);
      };
      onLost.add(lostHandler);

      const safetyNet = setTimeout(() => {
        safetyFired = true;
        if (!channel) return finish(false);
        signalChannel(channel, "KILL");
        // sshd confirms the close only when the command has exited, which may be never: do not wait.
        channel.close();
        finish(false);
      }, step.timeoutMs + SAFETY_NET_MS);

      client.exec(command, (error, ch) => {
        if (error) {
          if (lost) return finish(true);
          settled = true;
          clearTimeout(safetyNet);
          onLost.delete(lostHandler);
          return reject(
            new ExternalError("ssh_exec_failed", `step ${step.id}: cannot start command on ${target.name}`, {
              cause: error,
            }),
          );
        }
        if (settled) {
          ch.close();
          return;
        }
        channel = ch;
        ch.on("data", (chunk: Buffer) => {
          if (!settled) output.push("stdout", chunk);
        });
        ch.stderr.on("data", (chunk: Buffer) => {
          if (!settled) output.push("stderr", chunk);
        });
        ch.on("exit", (code: number | null, signal?: string) => {
          if (typeof code === "number") exitCode = code;
          else exitSignal = signal;
        });
        ch.on("close", () => {
          // 'close' follows the end of stdout; stderr may still hold a last chunk.
          if (lost || ch.stderr.readableEnded) finish(lost);
          else ch.stderr.once("end", () => finish(lost));
        });
        if (step.stdin !== undefined) ch.end(step.stdin);
        else ch.end();
      });
    });

  // The session's shell (see ssh-shell.ts), opened at once so the login runs while relctl works.
  let shell: Promise<SessionShell | undefined> | undefined;
  const openShell = (): Promise<SessionShell | undefined> => {
    const nonce = newNonce();
    return new Promise((resolve) => {
      try {
        client.exec(`exec ${quoteArgv(["sh", "-c", SHELL_LOOP, "relctl-shell", nonce])}`, (error, ch) => {
          resolve(error ? undefined : wireShell(ch, nonce));
        });
      } catch {
        resolve(undefined);
      }
    });
  };
  if (sharedShell) shell = openShell();

  const runInShell = (sh: SessionShell, step: Step, options: RunOptions | undefined) =>
    new Promise<StepResult>((resolve) => {
      sh.busy = true;
      const remoteDeadlineMs = timeoutSeconds(step) * 1000;
      const started = performance.now();
      const output = createOutputCollector(step.sensitive, options?.onOutput);
      let stdoutCode: number | undefined;
      let stderrEnded = false;
      let safetyFired = false;
      let interrupted = false;
      let settled = false;

      const finish = (how: "ended" | "lost" | "cut") => {
        if (settled) return;
        settled = true;
        clearTimeout(safetyNet);
        onLost.delete(lostHandler);
        options?.signal?.removeEventListener("abort", onAbort);
        sh.stdout = sh.stderr = sh.closed = undefined;
        if (how === "ended") sh.busy = false;
        else {
          // The shell may still run the command (or its end never came): it serves no more steps.
          sh.dead = true;
          sh.channel.destroy();
        }
        const durationMs = Math.round(performance.now() - started);
        const exitCode = how === "ended" ? (stdoutCode ?? null) : null;
        const killedByRemoteTimeout =
          durationMs >= remoteDeadlineMs && exitCode !== null && TIMEOUT_EXIT_CODES.has(exitCode);
        const connectionLost = how === "lost";
        resolve(
          stepResult(
            { exitCode, connectionLost, interrupted, durationMs, output },
            safetyFired || killedByRemoteTimeout,
          ),
        );
      };
      const bothEnded = () => {
        if (stdoutCode !== undefined && stderrEnded) finish("ended");
      };
      sh.stdout = createEndScanner(
        sh.nonce,
        (chunk) => output.push("stdout", chunk),
        (code) => {
          stdoutCode = code;
          bothEnded();
        },
      );
      sh.stderr = createEndScanner(
        sh.nonce,
        (chunk) => output.push("stderr", chunk),
        () => {
          stderrEnded = true;
          bothEnded();
        },
      );
      // The shell's channel closed without the step's end: the command's fate is unknown.
      sh.closed = () => finish(lost ? "lost" : "cut");

      const onAbort = () => {
        if (settled || interrupted) return;
        interrupted = true;
        // With a pid file the group ends and the shell reports the end; without one (read-only
        // steps) the shell is given up and the command runs to its own deadline at most.
        if (step.pidFile) endGroup(step.pidFile);
        else finish("cut");
      };
      if (options?.signal?.aborted) onAbort();
      else options?.signal?.addEventListener("abort", onAbort, { once: true });

      const lostHandler = () => finish("lost");
      onLost.add(lostHandler);

      const safetyNet = setTimeout(() => {
        safetyFired = true;
        if (step.pidFile) endGroup(step.pidFile);
        finish("cut");
      }, step.timeoutMs + SAFETY_NET_MS);

      if (settled) return;
      sh.channel.write(shellRequest(buildRemoteCommand(step), sh.nonce));
    });

  const runStep = async (step: Step, options: RunOptions | undefined): Promise<StepResult> => {
    const sh = step.stdin === undefined && shell ? await shell : undefined;
    if (sh && !sh.busy && !sh.dead && !lost && !closed) return runInShell(sh, step, options);
    return runExec(step, options);
  };

  return {
    target,
    async run(step, options) {
      if (closed)
        throw new BugError("session_closed", `step ${step.id}: session for ${target.name} is closed`);
      if (lost) {
        throw new ExternalError(
          "ssh_connection_lost",
          `step ${step.id}: connection to ${hostLabel(target)} was lost earlier in this session`,
          { hint: "check the host, then run again" },
        );
      }
      return runStep(step, options);
    },
    async close() {
      if (closed) return;
      // Steps still running resolve as cut off, like on a dropped connection.
      for (const notify of [...onLost]) notify();
      closed = true;
      if (lost) return;
      const sh = shell ? await shell : undefined;
      if (sh && !sh.dead) sh.channel.end();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        client.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
        client.end();
      });
    },
  };
}

/** Runs steps over SSH, one connection per `open()`. */
export function createSshExecutor(options: SshExecutorOptions = {}): Executor {
  const counter: Counter = { count: 0 };
  const sharedShell = options.sharedShell ?? process.env.RELCTL_SSH_SHARED_SHELL !== "0";
  return {
    get handshakes() {
      return counter.count;
    },
    async open(target: HostTarget): Promise<HostSession> {
      return createSshSession(target, await connect(target, counter, options), sharedShell);
    },
    prepare(targets) {
      if (targets.length > 0) preloadSshClient();
    },
  };
}

/**
 * Connects, records the host key the server presents, and disconnects without authenticating.
 * Used by `relctl hosts trust`.
 */
export async function scanHostKey(address: string, port: number, timeoutMs: number): Promise<ScannedHostKey> {
  const Client = await loadClient();
  return new Promise((resolve, reject) => {
    const client = new Client();
    let scanned: ScannedHostKey | undefined;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      client.end();
      if (scanned) resolve(scanned);
      else
        reject(
          error ?? new ExternalError("ssh_connect_failed", `no host key received from ${address}:${port}`),
        );
    };
    client.on("error", (error: SshError) => {
      const reason =
        error.level === "client-timeout" ? `timed out after ${timeoutMs} ms` : (error.code ?? error.message);
      settle(
        new ExternalError("ssh_connect_failed", `cannot scan host key of ${address}:${port}: ${reason}`),
      );
    });
    client.on("close", () => settle());
    client.on("ready", () =>
      settle(new BugError("scan_authenticated", "host key scan unexpectedly authenticated")),
    );
    try {
      client.connect({
        host: address,
        port,
        username: "relctl-host-key-scan",
        readyTimeout: timeoutMs,
        hostVerifier: (key: Buffer) => {
          const keyType = keyTypeOf(key);
          scanned = {
            keyType,
            fingerprint: fingerprintOf(key),
            publicKeyLine: `${keyType} ${key.toString("base64")}`,
          };
          return false; // ends the handshake before authentication; 'error' then settles with the key
        },
      });
    } catch (error) {
      settle(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
