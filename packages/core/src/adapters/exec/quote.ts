import { StringDecoder } from "node:string_decoder";
import { UsageError } from "../../errors.js";
import type { Step } from "../../ports/executor.js";

/** Words made only of these characters mean the same quoted or not, in any POSIX shell and any position. */
const SAFE_WORD = /^[A-Za-z0-9_@%+,./:-]+$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const REDACTED = "[REDACTED]";
/** Seconds between the TERM a step's process group gets at its deadline and the KILL that follows. */
export const REMOTE_KILL_GRACE_SECONDS = 5;
export const STDOUT_CAP_BYTES = 1024 * 1024;
export const TAIL_LINES = 20;
const TAIL_LINE_MAX_CHARS = 4096;

/** POSIX single-quote quoting: the shell reads the result back as exactly `s`. */
export function quoteArg(s: string): string {
  if (s.includes("\0")) throw new UsageError("nul_in_argument", "an argument contains a NUL byte");
  if (SAFE_WORD.test(s)) return s;
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  return argv.map(quoteArg).join(" ");
}

export function assertEnvName(name: string, stepId: string): void {
  if (!ENV_NAME.test(name)) {
    throw new UsageError(
      "invalid_env_name",
      `step ${stepId}: invalid environment variable name ${JSON.stringify(name)}`,
      {
        hint: "names must match ^[A-Z_][A-Z0-9_]*$",
      },
    );
  }
}

export function timeoutSeconds(step: Step): number {
  if (!Number.isFinite(step.timeoutMs) || step.timeoutMs <= 0) {
    throw new UsageError("invalid_timeout", `step ${step.id}: timeoutMs must be a positive number`);
  }
  return Math.ceil(step.timeoutMs / 1000);
}

/**
 * The supervisor every remote step runs under (a constant script; its values are arguments):
 * the command runs in a session and process group of its own (setsid), whose id is written to
 * the step's pid file; at the deadline, or when the supervisor is told to stop (TERM, HUP, INT),
 * the whole group gets TERM, then KILL after the grace — so a command that ignores TERM, and
 * every child it started, ends with it. A timeout exits 124. After a lost connection, relctl ends
 * the group through the pid file (see planEndGroupStep).
 *   $1 pid file (or -)  $2 deadline in seconds  $3 grace in seconds  $4… the command
 */
/**
 * \`alive\`: whether any process of the group \`$pid\` still runs. Zombies do not count (an orphan
 * waits for init to reap it, which some inits do late); without ps, any process counts.
 */
const GROUP_ALIVE = `alive() {
  if command -v ps >/dev/null 2>&1; then
    ps -eo pgid=,stat= 2>/dev/null | awk -v g="$pid" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }'
  else
    kill -0 -"$pid" 2>/dev/null
  fi
}`;

export const STEP_SUPERVISOR = `pidfile=$1 secs=$2 grace=$3
shift 3
if [ "$pidfile" != - ]; then mkdir -p "\${pidfile%/*}" || exit 125; fi
timedout=0
trap 'timedout=1' USR1
exec 3<&0
setsid "$@" <&3 3<&- &
pid=$!
exec 3<&-
[ "$pidfile" = - ] || echo "$pid" >"$pidfile"
${GROUP_ALIVE}
stop() {
  kill -TERM -"$pid" 2>/dev/null
  # The grace is measured by the clock: on a busy host each check takes time of its own.
  end=$(($(date +%s) + grace))
  while alive && [ "$(date +%s)" -lt "$end" ]; do sleep 0.1; done
  kill -KILL -"$pid" 2>/dev/null
}
trap 'stop; [ "$pidfile" = - ] || rm -f "$pidfile"; exit 143' TERM HUP INT
me=$$
(
  i=0
  while [ "$i" -lt "$secs" ]; do sleep 1; kill -0 "$pid" 2>/dev/null || exit 0; i=$((i + 1)); done
  kill -USR1 "$me"
) </dev/null >/dev/null 2>&1 &
while :; do
  wait "$pid"
  code=$?
  if [ "$timedout" = 1 ]; then stop; wait "$pid" 2>/dev/null; code=124; break; fi
  kill -0 "$pid" 2>/dev/null || break
done
[ "$pidfile" = - ] || rm -f "$pidfile"
exit "$code"`;

/**
 * Ends the process group a step's pid file names (after a lost connection or an interruption):
 * TERM, then KILL, and waits until the group is gone; exits 0 when nothing of it runs any more.
 *   $1 pid file
 */
export const END_STEP_GROUP = [
  'f=$1; [ -f "$f" ] || exit 0; pid=$(cat "$f")',
  GROUP_ALIVE,
  'kill -TERM -"$pid" 2>/dev/null; i=0; while alive && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
  'kill -KILL -"$pid" 2>/dev/null; i=0; while alive && [ "$i" -lt 50 ]; do sleep 0.1; i=$((i + 1)); done',
  'alive && exit 1; rm -f "$f"',
].join("\n");

/**
 * The one command line sent over SSH for a step:
 *   cd -- <cwd> && exec env K=V … sh -c <supervisor> relctl-step <pid file> <seconds> <grace> <argv…>
 * `exec` keeps the tree sshd → supervisor → (own process group) command.
 */
export function buildRemoteCommand(step: Step): string {
  if (step.argv.length === 0) throw new UsageError("empty_argv", `step ${step.id}: argv is empty`);
  const seconds = timeoutSeconds(step);
  const parts: string[] = [];
  if (step.cwd !== undefined) parts.push(`cd -- ${quoteArg(step.cwd)} &&`);
  parts.push("exec");
  const env = Object.entries(step.env ?? {});
  if (env.length > 0) {
    parts.push("env");
    for (const [name, value] of env) {
      assertEnvName(name, step.id);
      parts.push(`${name}=${quoteArg(value)}`);
    }
  }
  parts.push(
    quoteArgv([
      "sh",
      "-c",
      STEP_SUPERVISOR,
      "relctl-step",
      step.pidFile ?? "-",
      String(seconds),
      String(REMOTE_KILL_GRACE_SECONDS),
      ...step.argv,
    ]),
  );
  return parts.join(" ");
}

/** Replaces every occurrence of each non-empty sensitive value with [REDACTED]. */
export function redact(text: string, sensitive: readonly string[] | undefined): string {
  if (!sensitive || sensitive.length === 0) return text;
  // Longest first, so a secret that contains another secret is replaced whole.
  const values = [...new Set(sensitive.filter((v) => v.length > 0))].sort((a, b) => b.length - a.length);
  let out = text;
  for (const value of values) out = out.split(value).join(REDACTED);
  return out;
}

/** Length of the longest suffix of `text` that is a proper prefix of one of `values`. */
function pendingSecretPrefix(text: string, values: readonly string[]): number {
  let best = 0;
  for (const value of values) {
    const max = Math.min(value.length - 1, text.length);
    for (let n = max; n > best; n--) {
      if (text.endsWith(value.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

export interface OutputCollector {
  push(stream: "stdout" | "stderr", chunk: Buffer | string): void;
  /** Flushes held-back text; returns redacted stdout (capped) and the redacted tail. */
  finish(): { stdout: string; tail: string };
}

/**
 * Collects a command's output for a StepResult and streams it, redacted, to `onOutput`.
 * A secret split across two chunks is still caught: the end of a chunk that could be the start of a
 * secret is held back until the next chunk (or the end) shows what it is.
 */
export function createOutputCollector(
  sensitive: readonly string[] | undefined,
  onOutput?: (chunk: string, stream: "stdout" | "stderr") => void,
): OutputCollector {
  const values = (sensitive ?? []).filter((v) => v.length > 0);
  const stdoutChunks: Buffer[] = [];
  let stdoutBytes = 0;
  const tailLines: string[] = [];
  const streams = {
    stdout: { decoder: new StringDecoder("utf8"), pending: "", partialLine: "" },
    stderr: { decoder: new StringDecoder("utf8"), pending: "", partialLine: "" },
  };

  const addLine = (line: string) => {
    tailLines.push(line.length > TAIL_LINE_MAX_CHARS ? `${line.slice(0, TAIL_LINE_MAX_CHARS)}…` : line);
    if (tailLines.length > TAIL_LINES) tailLines.shift();
  };

  const emit = (stream: "stdout" | "stderr", text: string, final: boolean) => {
    if (text.length > 0) onOutput?.(text, stream);
    const state = streams[stream];
    const lines = (state.partialLine + text).split("\n");
    state.partialLine = lines.pop() ?? "";
    if (state.partialLine.length > TAIL_LINE_MAX_CHARS * 4) {
      state.partialLine = state.partialLine.slice(-TAIL_LINE_MAX_CHARS * 4);
    }
    for (const line of lines) addLine(line);
    if (final && state.partialLine.length > 0) {
      addLine(state.partialLine);
      state.partialLine = "";
    }
  };

  const feed = (stream: "stdout" | "stderr", text: string, final: boolean) => {
    const state = streams[stream];
    const redacted = redact(state.pending + text, values);
    const hold = final ? 0 : pendingSecretPrefix(redacted, values);
    state.pending = redacted.slice(redacted.length - hold);
    emit(stream, redacted.slice(0, redacted.length - hold), final);
  };

  return {
    push(stream, chunk) {
      const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (stream === "stdout" && stdoutBytes < STDOUT_CAP_BYTES) {
        const part = buf.subarray(0, STDOUT_CAP_BYTES - stdoutBytes);
        stdoutChunks.push(part);
        stdoutBytes += part.length;
      }
      feed(stream, streams[stream].decoder.write(buf), false);
    },
    finish() {
      for (const stream of ["stdout", "stderr"] as const) {
        feed(stream, streams[stream].decoder.end(), true);
      }
      return {
        stdout: redact(Buffer.concat(stdoutChunks).toString("utf8"), values),
        tail: redact(tailLines.join("\n"), values),
      };
    },
  };
}

export interface LineSplitter {
  /** A chunk of a stream's output (as `onOutput` gives it: already redacted). */
  push(chunk: string, stream: "stdout" | "stderr"): void;
  /** The last line of each stream, when it did not end with a newline. */
  flush(): void;
}

/**
 * Turns a step's output chunks into whole lines, each stream on its own (a line of stdout never
 * mixes with one of stderr): `onLine` gets each line without its "\n" (nor a "\r" before it). A
 * line longer than TAIL_LINE_MAX_CHARS is given in pieces of that size.
 */
export function createLineSplitter(
  onLine: (line: string, stream: "stdout" | "stderr") => void,
): LineSplitter {
  const partial = { stdout: "", stderr: "" };
  const give = (line: string, stream: "stdout" | "stderr") =>
    onLine(line.endsWith("\r") ? line.slice(0, -1) : line, stream);
  return {
    push(chunk, stream) {
      const lines = (partial[stream] + chunk).split("\n");
      let rest = lines.pop() ?? "";
      for (const line of lines) give(line, stream);
      while (rest.length > TAIL_LINE_MAX_CHARS) {
        give(rest.slice(0, TAIL_LINE_MAX_CHARS), stream);
        rest = rest.slice(TAIL_LINE_MAX_CHARS);
      }
      partial[stream] = rest;
    },
    flush() {
      for (const stream of ["stdout", "stderr"] as const) {
        if (partial[stream].length > 0) give(partial[stream], stream);
        partial[stream] = "";
      }
    },
  };
}
