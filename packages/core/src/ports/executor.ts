/**
 * The executor contract. Runbooks are plans made of `Step` values; only an executor runs them.
 * Nothing but `quoteArgv` (./quote.ts) turns argv into a shell command line.
 */

/** One command of a runbook, as a value. */
export interface Step {
  /** Stable id of the step inside its runbook, e.g. `git-fetch`, `migrate`, `health-check`. */
  readonly id: string;
  /** One line for people: "git fetch --tags". */
  readonly title: string;
  /** The program and its arguments. Never a shell string (use ["sh", "-c", script, "sh", ...args] explicitly). */
  readonly argv: readonly string[];
  /** Working directory on the host; the step fails (exit 127-like) when it does not exist. */
  readonly cwd?: string;
  /** Extra environment for the command. Names must match ^[A-Z_][A-Z0-9_]*$. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the command's stdin, then stdin is closed. */
  readonly stdin?: string;
  /** The step fails with `timedOut: true` after this long; the remote process is killed. */
  readonly timeoutMs: number;
  /** Values that must never be printed, logged or stored (replaced by [REDACTED]). */
  readonly sensitive?: readonly string[];
  /**
   * Where the host records the step's process group while it runs, so that relctl can end it after
   * a lost connection or an interruption (every step that changes the host has one).
   */
  readonly pidFile?: string;
}

export interface StepResult {
  /** Exit code of the command; null when it was killed (timeout, signal, lost connection). */
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  /** The connection to the host was lost while the step ran. */
  readonly connectionLost: boolean;
  /** relctl was interrupted (SIGINT/SIGTERM) and ended the step's processes on the host. */
  readonly interrupted?: boolean;
  readonly durationMs: number;
  /** Full stdout (capped at 1 MiB). */
  readonly stdout: string;
  /** Last lines (at most 20) of stdout and stderr interleaved, redacted. */
  readonly tail: string;
}

/** `address: "local"` runs a host's steps on this machine; any other address goes over SSH. */
export function isLocalTarget(target: Pick<HostTarget, "address">): boolean {
  return target.address === "local";
}

/** How to reach one host. `address: "local"` runs steps on this machine (execa), no SSH. */
export interface HostTarget {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly user: string;
  /** Path of a private key file. */
  readonly privateKeyPath?: string;
  /** Use the SSH agent at $SSH_AUTH_SOCK (or this socket path). */
  readonly agent?: string | boolean;
  /** Password auth, only when configured. */
  readonly password?: string;
  /**
   * Expected host key: an OpenSSH fingerprint "SHA256:base64nopad" or a public key line
   * "ssh-ed25519 AAAA...". Required for SSH targets; a mismatch aborts before authentication.
   */
  readonly hostKey?: string;
  readonly connectTimeoutMs?: number;
}

export interface RunOptions {
  /** Called with each chunk of output as it arrives (already redacted). */
  readonly onOutput?: (chunk: string, stream: "stdout" | "stderr") => void;
  /** Aborting it ends the step's process group on the host (TERM, then KILL) and resolves `interrupted`. */
  readonly signal?: AbortSignal;
}

/** An open connection to one host; one per host for a whole run. */
export interface HostSession {
  readonly target: HostTarget;
  run(step: Step, options?: RunOptions): Promise<StepResult>;
  close(): Promise<void>;
}

export interface Executor {
  /** Opens a session (for SSH: connects, verifies the host key, authenticates). */
  open(target: HostTarget): Promise<HostSession>;
  /** How many SSH handshakes this executor has made (for benchmarks and tests). */
  readonly handshakes: number;
  /**
   * Loads what opening sessions to these targets will need (for SSH: its client library), with no
   * connection and no file read: a run calls it as it starts, so the loading overlaps its database
   * work. Optional; failures surface at open().
   */
  prepare?(targets: readonly HostTarget[]): void;
}
