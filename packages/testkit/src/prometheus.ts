import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { haproxyInstalled } from "./haproxy.js";
import { freePort, waitUntilListening } from "./net.js";

/** Whether the Prometheus server (Debian's prometheus package) is installed here. */
export function prometheusInstalled(): boolean {
  try {
    execFileSync("prometheus", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export interface PrometheusServer {
  /** Its HTTP API: http://127.0.0.1:<port> */
  readonly url: string;
  /** An instant query's values (a vector's samples, or a scalar). */
  query(promql: string): Promise<number[]>;
  stop(): Promise<void>;
}

/** A private Prometheus scraping `targets` ("127.0.0.1:port") every `interval` (default 1s). */
export async function startPrometheus(options: {
  readonly targets: readonly string[];
  readonly interval?: string;
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "relctl-prometheus-"));
  const port = await freePort();
  const interval = options.interval ?? "1s";
  const cfg = join(dir, "prometheus.yml");
  writeFileSync(
    cfg,
    [
      "global:",
      `  scrape_interval: ${interval}`,
      `  evaluation_interval: ${interval}`,
      "scrape_configs:",
      "  - job_name: service",
      `    scrape_timeout: ${interval}`,
      "    static_configs:",
      `      - targets: [${options.targets.map((t) => `"${t}"`).join(", ")}]`,
      "",
    ].join("\n"),
  );
  const child: ChildProcess = spawn(
    "prometheus",
    [
      `--config.file=${cfg}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
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
  if (!(await waitUntilListening(child, port, 20_000))) {
    await stop();
    throw new Error(`prometheus did not start: ${stderr}`);
  }
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as { data?: { resultType: string; result: unknown } };
      const d = body.data;
      if (!d) return [];
      if (d.resultType === "scalar") return [Number((d.result as [number, string])[1])];
      return (d.result as { value: [number, string] }[]).map((s) => Number(s.value[1]));
    },
    stop,
  };
}

/**
 * true → run the proxy and analysis tests. When haproxy or prometheus is absent: warns and
 * returns false, or throws when RELCTL_REQUIRE_PROXY=1 (CI must not silently skip them).
 */
export function proxyToolsOrSkip(): boolean {
  const missing = [
    ...(haproxyInstalled() ? [] : ["haproxy"]),
    ...(prometheusInstalled() ? [] : ["prometheus"]),
  ];
  if (missing.length === 0) return true;
  const why = `${missing.join(" and ")} not installed (apt-get install ${missing.join(" ")})`;
  if (process.env.RELCTL_REQUIRE_PROXY === "1") throw new Error(why);
  console.warn(`skipping the proxy tests: ${why}`);
  return false;
}
