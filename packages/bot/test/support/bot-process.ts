import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { freePort } from "@relctl/testkit";

const ROOT = join(import.meta.dirname, "..", "..", "..", "..");
const MAIN = join(ROOT, "packages", "bot", "src", "main.ts");

export interface BotProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/** Runs the bot's entry (src/main.ts, through tsx) as its own process, as `relctl-bot` would run. */
export async function startBotProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<BotProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      RELCTL_HTTP_HOST: "127.0.0.1",
      PORT: String(port),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const handle: BotProcess = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!out.includes("approvals service started")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await handle.stop();
      return handle;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return handle;
}
