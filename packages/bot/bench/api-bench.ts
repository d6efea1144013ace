// Benchmark of the approvals service's HTTP API against this machine's PostgreSQL.
//   pnpm exec tsx packages/bot/bench/api-bench.ts [--seconds 5] [--concurrency 16] [--rate 100] [--profile-dir d]
// It measures pgbench's single-row INSERT rate (A) and the API's write rate, POST /release +
// PATCH /release at full speed (B), interleaved A B A B on the same server in one run, and prints
// each with their ratio; then p50/p99 latency in an open loop at --rate requests/s. With
// --profile-dir, the service runs under node --cpu-prof and its CPU profile is written there (the
// path is printed). Everything runs on 127.0.0.1 and stops by itself.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { startBotServer } from "./bot-server.js";

// The workspace packages resolve to their sources under the "source" condition; re-run with it.
if (!process.execArgv.some((a) => a.includes("conditions=source"))) {
  const again = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", import.meta.filename, ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  process.exitCode = await new Promise<number>((r) => again.once("exit", (code) => r(code ?? 1)));
  process.exit();
}
const { TokenStore } = await import("@relctl/core");
const { createPostgresTestDatabase, freePort } = await import("@relctl/testkit");

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    concurrency: { type: "string", default: "16" },
    rate: { type: "string", default: "100" },
    "profile-dir": { type: "string" },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const PROFILE_DIR = values["profile-dir"] ? resolve(values["profile-dir"]) : undefined;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Sample {
  readonly ms: number;
  readonly ok: boolean;
}

function main(): Promise<void> {
  return run().catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}

async function run(): Promise<void> {
  const db = await createPostgresTestDatabase("relctl_bench");
  const { secret } = await new TokenStore(db.db.sql).createToken(
    { name: "bench", services: ["*"] },
    { user: "bench", channel: "cli" },
  );
  const port = await freePort();
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  const server = await startBotServer(
    db.url!,
    port,
    PROFILE_DIR ? ["--cpu-prof", "--cpu-prof-dir", PROFILE_DIR] : [],
  );
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY * 2, pipelining: 1 });
  const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
  let n = 0;

  async function call(
    method: "POST" | "PATCH",
    body: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await pool.request({ path: "/release", method, headers, body: JSON.stringify(body) });
    const json = (await res.body.json()) as Record<string, unknown>;
    return { status: res.statusCode, json };
  }

  /** One unit of work: create a release, then move it to stage_building. Two requests. */
  async function pair(samples: Sample[]): Promise<void> {
    const tag = `v0.0.${++n}`;
    let t = performance.now();
    const created = await call("POST", { service: "bench", tag });
    samples.push({ ms: performance.now() - t, ok: created.status === 201 });
    t = performance.now();
    const moved = await call("PATCH", { release_id: created.json.release_id, status: "stage_building" });
    samples.push({ ms: performance.now() - t, ok: moved.status === 200 });
  }

  try {
    for (let i = 0; i < 100; i++) await pair([]); // warm-up

    /** B: CONCURRENCY clients as fast as the API answers, for SECONDS. */
    async function apiRun(): Promise<{ samples: Sample[]; seconds: number }> {
      const samples: Sample[] = [];
      const until = performance.now() + SECONDS * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < until) await pair(samples);
        }),
      );
      return { samples, seconds: (performance.now() - started) / 1000 };
    }

    // A: pgbench's single-row INSERTs, one per transaction, same server, same client count.
    await db.db
      .sql`CREATE TABLE pgbench_single_row (id bigserial PRIMARY KEY, v int NOT NULL, at timestamptz NOT NULL DEFAULT now())`;
    const dir = mkdtempSync(join(tmpdir(), "relctl-bench-"));
    const script = join(dir, "insert.sql");
    writeFileSync(script, "\\set v random(1, 1000000)\nINSERT INTO pgbench_single_row (v) VALUES (:v);\n");
    const url = new URL(db.url!);
    const pgbenchRun = (): number => {
      const out = execFileSync(
        "pgbench",
        [
          "-n",
          "-h",
          url.hostname,
          "-p",
          url.port || "5432",
          "-U",
          url.username || "postgres",
          "-c",
          String(CONCURRENCY),
          "-j",
          "2",
          "-T",
          String(SECONDS),
          "-f",
          script,
          url.pathname.slice(1),
        ],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
      return Number(/tps = ([\d.]+)/.exec(out)?.[1]);
    };

    const rounds: { tps: number; api: { samples: Sample[]; seconds: number } }[] = [];
    for (let round = 0; round < 2; round++) {
      const tps = pgbenchRun();
      rounds.push({ tps, api: await apiRun() });
    }
    rmSync(dir, { recursive: true, force: true });

    // Open loop: RATE requests/s (RATE/2 pairs/s), latency measured from the scheduled start.
    const open: Sample[] = [];
    const pairs = Math.round((RATE / 2) * SECONDS);
    const interval = 2000 / RATE;
    const t0 = performance.now() + 50;
    await Promise.all(
      Array.from({ length: pairs }, async (_, i) => {
        const due = t0 + i * interval;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        const tag = `r0.0.${++n}`;
        const created = await call("POST", { service: "bench", tag });
        open.push({ ms: performance.now() - due, ok: created.status === 201 });
        const t = performance.now();
        const moved = await call("PATCH", { release_id: created.json.release_id, status: "stage_building" });
        open.push({ ms: performance.now() - t, ok: moved.status === 200 });
      }),
    );

    const report = (name: string, samples: Sample[], seconds?: number) => {
      const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
      const failed = samples.filter((s) => !s.ok).length;
      return {
        name,
        requests: samples.length,
        failed,
        rps: seconds ? samples.length / seconds : undefined,
        p50: percentile(ms, 50),
        p99: percentile(ms, 99),
        max: ms.at(-1),
      };
    };
    const paced = report(`open loop at ${RATE} requests/s, ${SECONDS}s`, open);
    const f = (x: number | undefined, d = 1) => (x === undefined ? "-" : x.toFixed(d));
    console.log("\nrelctl API benchmark (POST /release + PATCH /release) on 127.0.0.1 PostgreSQL");
    console.log(`cores: ${execFileSync("nproc", { encoding: "utf8" }).trim()}, node ${process.version}`);
    console.log(
      `\nA = pgbench single-row INSERT (tps), B = API writes (requests/s); ${CONCURRENCY} clients, ${SECONDS}s each, A B A B\n`,
    );
    console.log("| run | rate /s | failed | p50 ms | p99 ms | B / A |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    rounds.forEach((r, i) => {
      const api = report("", r.api.samples, r.api.seconds);
      console.log(`| A${i + 1} pgbench | ${f(r.tps, 0)} | | | | |`);
      console.log(
        `| B${i + 1} API | ${f(api.rps, 0)} | ${api.failed} | ${f(api.p50, 2)} | ${f(api.p99, 2)} | ${f((api.rps ?? 0) / r.tps, 2)} |`,
      );
    });
    console.log(`| ${paced.name} | | ${paced.failed} | ${f(paced.p50, 2)} | ${f(paced.p99, 2)} | |`);
    console.log("");
    const tps = rounds.reduce((sum, r) => sum + r.tps, 0) / rounds.length;
    const rps = rounds.reduce((sum, r) => sum + r.api.samples.length / r.api.seconds, 0) / rounds.length;
    const ratio = rps / tps;
    console.log(
      `pgbench ${f(tps, 0)} tps, API ${f(rps, 0)} requests/s: ratio ${f(ratio, 2)}  (goal ≥ 0.25: ${ratio >= 0.25 ? "met" : "NOT met"})`,
    );
    console.log(
      `at ${RATE} requests/s: p50 ${f(paced.p50, 2)} ms, p99 ${f(paced.p99, 2)} ms  (goal p99 ≤ 25 ms: ${paced.p99 <= 25 ? "met" : "NOT met"})`,
    );
  } finally {
    await pool.close();
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    await db.drop();
    if (PROFILE_DIR) {
      const profiles = readdirSync(PROFILE_DIR).filter((name) => name.endsWith(".cpuprofile"));
      console.log(
        profiles.length > 0
          ? `CPU profile of the service: ${profiles.map((name) => join(PROFILE_DIR, name)).join(", ")} (open in Chrome DevTools or speedscope)`
          : `no CPU profile was written to ${PROFILE_DIR} (the service did not exit cleanly)`,
      );
    }
  }
}

await main();
