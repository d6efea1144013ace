import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const BIN = join(import.meta.dirname, "..", "bin", "run.js");

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  json<T = Record<string, unknown>>(): T;
}

/** Starts the built relctl CLI as its own process, as CI or a terminal runs it. */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }));
  });
  return { child, done };
}

/** Runs the built relctl CLI as a user would, in its own process. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
  cwd?: string,
): Promise<CliResult> {
  return spawnCli(args, env, cwd).done;
}
