import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, waitUntilListening } from "./net.js";

/** Whether HAProxy (Debian's haproxy package) is installed here. */
export function haproxyInstalled(): boolean {
  try {
    execFileSync("haproxy", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface Haproxy {
  /** Where requests go: http://127.0.0.1:<frontPort>/ */
  readonly frontPort: number;
  /** The runtime API ("127.0.0.1:<port>"), as relctl.yml's proxy.haproxy.admin. */
  readonly admin: string;
  readonly backend: string;
  readonly stateFile: string;
  /** A runtime API command's answer. */
  command(line: string): Promise<string>;
  /** Each server's status (`show stat` column 18): { blue: "UP", green: "MAINT" }. */
  status(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/**
 * A private HAProxy in front of a service's two ports, configured as the README shows: backend
 * `backend` with servers blue and green, the runtime API on a loopback port, a server-state-file
 * so a reload keeps the live side. Both servers start in maintenance: the first deploy enables one.
 */
export async function startHaproxy(options: {
  readonly frontPort?: number;
  readonly ports: readonly [number, number];
  readonly backend?: string;
  /** HAProxy's own health checks of blue and green (relctl waits until it sees the new side up). */
  readonly checks?: boolean;
}): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), "relctl-haproxy-"));
  const frontPort = options.frontPort ?? (await freePort());
  const adminPort = await freePort();
  const backend = options.backend ?? "app";
  const stateFile = join(dir, "server-state");
  const check = options.checks ? " check inter 200ms fall 2 rise 1" : "";
  const cfg = join(dir, "haproxy.cfg");
  writeFileSync(
    cfg,
    [
      "global",
      `  stats socket ipv4@127.0.0.1:${adminPort} level admin`,
      `  server-state-file ${stateFile}`,
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 30s",
      "  timeout server 30s",
      "  load-server-state-from-file global",
      "  option http-keep-alive",
      "frontend web",
      `  bind 127.0.0.1:${frontPort}`,
      `  default_backend ${backend}`,
      `backend ${backend}`,
      "  option httpchk GET /health",
      `  server blue 127.0.0.1:${options.ports[0]}${check} disabled`,
      `  server green 127.0.0.1:${options.ports[1]}${check} disabled`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  if (!(await waitUntilListening(child, adminPort, 10_000)) || !existsSync(cfg)) {
    await stop();
    throw new Error(`haproxy did not start: ${stderr}`);
  }
  const command = (line: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(adminPort, "127.0.0.1");
      let out = "";
      socket.on("data", (d) => {
        out += d.toString();
      });
      socket.on("end", () => resolve(out));
      socket.on("error", reject);
      socket.end(`${line}\n`);
    });
  return {
    frontPort,
    admin: `127.0.0.1:${adminPort}`,
    backend,
    stateFile,
    command,
    async status() {
      const out: Record<string, string> = {};
      for (const row of (await command("show stat")).split("\n")) {
        const f = row.split(",");
        if (f[0] === backend && (f[1] === "blue" || f[1] === "green")) out[f[1]] = f[17] ?? "";
      }
      return out;
    },
    stop,
  };
}
