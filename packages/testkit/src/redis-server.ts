import { type ChildProcess, spawn } from "node:child_process";
import { freePort, waitUntilListening } from "./net.js";

export interface RedisServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** A private redis-server on a free loopback port, keeping nothing on disk; stop() kills it. */
export async function startRedisServer(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  if (!(await waitUntilListening(child, port, 10_000))) {
    await stop();
    throw new Error("redis-server did not start");
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
