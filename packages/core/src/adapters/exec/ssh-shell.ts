import { randomBytes } from "node:crypto";
import type { ClientChannel } from "ssh2";

/**
 * One shell per SSH session that runs the session's steps one after another.
 *
 * Every `exec` request makes sshd start the user's login shell, which reads the user's rc files
 * (Debian's bash reads ~/.bashrc for commands run over SSH: pyenv, nvm, rbenv and the like often
 * cost 0.2–0.5 s there). A run sends 4–6 commands to each host, so relctl opens one channel per
 * session whose login shell `exec`s this loop, and sends each step's command to it: the rc files
 * are read once per run and the login's cost is paid while relctl is still reading its database.
 *
 * Protocol (stdin): the command's lines, then a line holding the session's nonce. The loop runs the
 * command with `sh -c` (stdin from /dev/null: steps that need stdin get a channel of their own),
 * then writes `RS <nonce> <exit code> RS LF` to stdout and to stderr, so the end of each stream is
 * known. The nonce is random per session, so no output can forge the end of a step.
 *   $1 nonce
 */
export const SHELL_LOOP = `n=$1
cmd=
while IFS= read -r line; do
  if [ "$line" = "$n" ]; then
    sh -c "$cmd" relctl-step </dev/null
    c=$?
    printf '\\036%s %s\\036\\n' "$n" "$c"
    printf '\\036%s %s\\036\\n' "$n" "$c" >&2
    cmd=
  else
    cmd="$cmd$line
"
  fi
done`;

export function newNonce(): string {
  return randomBytes(16).toString("hex");
}

const EMPTY = Buffer.alloc(0);
const END = Buffer.from("\x1e\n");

/** The longest end of `buf` that is a proper start of `prefix`. */
function partialPrefixAtEnd(buf: Buffer, prefix: Buffer): number {
  for (let k = Math.min(prefix.length - 1, buf.length); k > 0; k--) {
    if (buf.subarray(buf.length - k).equals(prefix.subarray(0, k))) return k;
  }
  return 0;
}

/**
 * Splits one stream of the shell channel into the step's output and its end marker: `emit` gets
 * the output (a possible start of the marker is held back until the next chunk says otherwise),
 * `ended` gets the exit code once.
 */
export function createEndScanner(
  nonce: string,
  emit: (chunk: Buffer) => void,
  ended: (exitCode: number) => void,
): (chunk: Buffer) => void {
  const prefix = Buffer.from(`\x1e${nonce} `);
  let held: Buffer = EMPTY;
  let done = false;
  return (chunk) => {
    if (done) return;
    const buf = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
    held = EMPTY;
    const at = buf.indexOf(prefix);
    if (at >= 0) {
      if (at > 0) emit(buf.subarray(0, at));
      const end = buf.indexOf(END, at + prefix.length);
      if (end < 0) {
        held = buf.subarray(at);
        return;
      }
      done = true;
      ended(Number(buf.subarray(at + prefix.length, end).toString("latin1")));
      return;
    }
    const keep = partialPrefixAtEnd(buf, prefix);
    if (buf.length > keep) emit(buf.subarray(0, buf.length - keep));
    if (keep > 0) held = Buffer.from(buf.subarray(buf.length - keep));
  };
}

/** The shell's channel and what the step it runs now listens to. */
export interface SessionShell {
  readonly channel: ClientChannel;
  readonly nonce: string;
  busy: boolean;
  /** The channel closed, or a step's end was not seen: later steps get channels of their own. */
  dead: boolean;
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  closed?: () => void;
}

/** Wires a freshly opened shell channel; output that arrives while no step runs is dropped. */
export function wireShell(channel: ClientChannel, nonce: string): SessionShell {
  const shell: SessionShell = { channel, nonce, busy: false, dead: false };
  channel.on("data", (chunk: Buffer) => shell.stdout?.(chunk));
  channel.stderr.on("data", (chunk: Buffer) => shell.stderr?.(chunk));
  channel.on("close", () => {
    shell.dead = true;
    shell.closed?.();
  });
  channel.on("error", () => {
    shell.dead = true;
  });
  return shell;
}

/** What the shell's stdin gets for one command. */
export function shellRequest(command: string, nonce: string): string {
  return `${command}\n${nonce}\n`;
}
