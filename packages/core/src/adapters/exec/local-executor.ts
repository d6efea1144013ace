import { stat } from "node:fs/promises";
import { BugError, UsageError } from "../../errors.js";
import type {
  Executor,
  HostSession,
  HostTarget,
  RunOptions,
  Step,
  StepResult,
} from "../../ports/executor.js";
import { assertEnvName, createOutputCollector, timeoutSeconds } from "./quote.js";

/** Time between the TERM sent to the step's process group at its deadline and the KILL that follows. */
const KILL_GRACE_MS = 2000;

/** Runs steps on this machine with execa, without a shell. No SSH, so `handshakes` stays 0. */
export function createLocalExecutor(): Executor {
  return {
    handshakes: 0,
    async open(target: HostTarget): Promise<HostSession> {
      return createLocalSession(target);
    },
  };
}

function createLocalSession(target: HostTarget): HostSession {
  let closed = false;
  return {
    target,
    async run(step, options) {
      if (closed)
        throw new BugError("session_closed", `step ${step.id}: session for ${target.name} is closed`);
      return runLocalStep(step, options);
    },
    async close() {
      closed = true;
    },
  };
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** TERM to the step's process group, KILL after the grace if anything of it still runs. */
async function endGroup(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  killGroup(pid, "SIGTERM");
  const until = Date.now() + KILL_GRACE_MS;
  while (groupAlive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  killGroup(pid, "SIGKILL");
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // The subprocess is started detached, so it leads its own process group: this reaches its children too.
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

/** What a step on `address: local` inherits of relctl's environment: what a login shell has. */
const INHERITED = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "LANG",
  "LANGUAGE",
  "TZ",
  "TMPDIR",
  "TERM",
  "SSH_AUTH_SOCK",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
]);

export function hostEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (INHERITED.has(name) || name.startsWith("LC_"))) kept[name] = value;
  }
  return kept;
}

export async function runLocalStep(step: Step, options?: RunOptions): Promise<StepResult> {
  const [program, ...args] = step.argv;
  if (program === undefined) throw new UsageError("empty_argv", `step ${step.id}: argv is empty`);
  timeoutSeconds(step); // validates timeoutMs
  for (const name of Object.keys(step.env ?? {})) assertEnvName(name, step.id);

  const started = performance.now();
  const output = createOutputCollector(step.sensitive, options?.onOutput);
  let interrupted = false;
  const done = (exitCode: number | null, timedOut: boolean): StepResult => ({
    exitCode: timedOut || interrupted ? null : exitCode,
    timedOut,
    connectionLost: false,
    ...(interrupted ? { interrupted } : {}),
    durationMs: Math.round(performance.now() - started),
    ...output.finish(),
  });

  if (step.cwd !== undefined && !(await isDirectory(step.cwd))) {
    output.push("stderr", `relctl: working directory does not exist: ${step.cwd}\n`);
    return done(127, false);
  }

  // execa is loaded on first use: commands that run nothing locally do not pay for it.
  const { execa } = await import("execa");
  const subprocess = execa(program, args, {
    cwd: step.cwd,
    // A step sees what a login on the host would, plus its own env: never relctl's environment
    // (its DATABASE_URL, GITHUB_TOKEN, TELEGRAM_BOT_TOKEN, …), as over SSH.
    env: { ...hostEnvironment(process.env), ...step.env },
    extendEnv: false,
    // No stdin means an empty one, as over SSH: a command that reads stdin sees EOF instead of hanging.
    input: step.stdin ?? "",
    detached: true,
    reject: false,
    // Output is collected by the collector (capped, redacted); execa must not buffer it without limit.
    buffer: false,
    stripFinalNewline: false,
  });
  subprocess.stdout?.on("data", (chunk: Buffer) => output.push("stdout", chunk));
  subprocess.stderr?.on("data", (chunk: Buffer) => output.push("stderr", chunk));

  let timedOut = false;
  let ending: Promise<void> | undefined;
  const end = () => {
    ending ??= endGroup(subprocess.pid);
  };
  const deadline = setTimeout(() => {
    timedOut = true;
    end();
  }, step.timeoutMs);
  const onAbort = () => {
    interrupted = true;
    end();
  };
  if (options?.signal?.aborted) onAbort();
  else options?.signal?.addEventListener("abort", onAbort, { once: true });

  const result = await subprocess;
  clearTimeout(deadline);
  options?.signal?.removeEventListener("abort", onAbort);
  // The group leader may be gone while children that ignore TERM live on: end the whole group.
  await ending;

  if (result.exitCode === undefined && !result.isTerminated && !timedOut) {
    // The program never started: report it like a shell would.
    const notFound = result.code === "ENOENT";
    output.push(
      "stderr",
      notFound
        ? `relctl: command not found: ${program}\n`
        : `relctl: cannot run ${program}: ${result.code}\n`,
    );
    return done(notFound ? 127 : 126, false);
  }
  return done(result.exitCode ?? null, timedOut);
}
