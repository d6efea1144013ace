import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..", "..");

/**
 * The approvals service (packages/bot/src/main.ts) in a child process on 127.0.0.1:`port`, with
 * its default settings (and `nodeArgs` for node, e.g. --cpu-prof; `env` for settings to add); resolves
 * once it logs that it started (30 s at most).
 */
export async function startBotServer(
  databaseUrl: string,
  port: number,
  nodeArgs: readonly string[] = [],
  env: Readonly<Record<string, string>> = {},
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, "--conditions=source", "--import", "tsx", "packages/bot/src/main.ts"],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        RELCTL_HTTP_HOST: "127.0.0.1",
        // The benchmark is one address sending as fast as it can: no per-address limit.
        RELCTL_RATE_LIMIT: "0",
        ...env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  const deadline = Date.now() + 30_000;
  while (!err.includes("approvals service started")) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return child;
}
