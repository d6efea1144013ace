// Benchmark of the approvals service through PostgreSQL outages, on a PostgreSQL server of its own.
//   pnpm exec tsx packages/bot/bench/db-outage-bench.ts [--rounds 3] [--outage-seconds 3] [--clients 4]
// Each round stops PostgreSQL (pg_ctl stop -m fast) while `clients` loops send POST /release (with
// an Idempotency-Key), PATCH /release, GET /releases and GET /health, then starts it again and
// polls GET /releases. It prints, per round, the slowest answer during the outage, the time from
// PostgreSQL's return to the first 2xx, and whether every POST sent during the outage, retried
// with its key, made one release; then the goals (≤ 2 s each). The service runs in a child
// process with its default settings; everything is on 127.0.0.1 and every loop is bounded.
import { type ChildProcess, spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { startBotServer } from "./bot-server.js";

// The workspace packages resolve to their sources under the "source" condition; re-run with it.
if (!process.execArgv.some((a) => a.includes("conditions=source"))) {
  const again = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", import.meta.filename, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exitCode = await new Promise<number>((r) => again.once("exit", (code) => r(code ?? 1)));
  process.exit();
}
const { TokenStore } = await import("@relctl/core");
const { freePort, startPostgresInstance } = await import("@relctl/testkit");
const { default: postgres } = await import("postgres");

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    "outage-seconds": { type: "string", default: "3" },
    clients: { type: "string", default: "4" },
  },
});
const ROUNDS = Math.min(20, Math.max(1, Number(values.rounds)));
const OUTAGE_MS = Math.min(60, Math.max(0.5, Number(values["outage-seconds"]))) * 1000;
const CLIENTS = Math.min(32, Math.max(1, Number(values.clients)));
const GOAL_MS = 2000;
/** A request slower than this is given up on and counted at this latency. */
const REQUEST_TIMEOUT_MS = 30_000;
/** At most this many requests per client per outage. */
const MAX_REQUESTS_PER_CLIENT = 5000;

interface Answer {
  readonly kind: string;
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run(): Promise<void> {
  const pg = await startPostgresInstance();
  const port = await freePort();
  let server: ChildProcess | undefined;
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  try {
    server = await startBotServer(pg.url, port);
    const { secret } = await new TokenStore(admin).createToken(
      { name: "bench", services: ["*"] },
      { user: "bench", channel: "cli" },
    );
    const base = `http://127.0.0.1:${port}`;
    const request = async (kind: string, method: string, path: string, body?: unknown, key?: string) => {
      const started = performance.now();
      try {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${secret}`,
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...(key ? { "idempotency-key": key } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
        const answer: Answer = {
          kind,
          status: res.status,
          ms: performance.now() - started,
          retryAfter: res.headers.has("retry-after"),
        };
        return { answer, json };
      } catch {
        const answer: Answer = { kind, status: 0, ms: performance.now() - started, retryAfter: false };
        return { answer, json: {} };
      }
    };
    const { answer: warm, json: release } = await request("warm-up", "POST", "/release", {
      service: "bench",
      tag: "v0.0.0",
    });
    if (warm.status !== 201) throw new Error(`warm-up POST /release answered ${warm.status}`);
    const releaseId = release.release_id;

    const rows: string[] = [];
    let allMet = true;
    for (let round = 1; round <= ROUNDS; round++) {
      await pg.stop("fast");
      const outageEnds = performance.now() + OUTAGE_MS;
      const answers: Answer[] = [];
      const keys: { key: string; tag: string }[] = [];
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, client) => {
          for (let i = 0; i < MAX_REQUESTS_PER_CLIENT && performance.now() < outageEnds; i++) {
            const n = i % 4;
            if (n === 0) {
              const tag = `v${round}.${client}.${i}`;
              const key = `bench-${round}-${client}-${i}`;
              keys.push({ key, tag });
              answers.push(
                (await request("POST", "POST", "/release", { service: "bench", tag }, key)).answer,
              );
            } else if (n === 1) {
              const body = { release_id: releaseId, status: "stage_building" };
              answers.push((await request("PATCH", "PATCH", "/release", body)).answer);
            } else if (n === 2) {
              answers.push((await request("GET /releases", "GET", "/releases")).answer);
            } else {
              answers.push((await request("GET /health", "GET", "/health")).answer);
            }
          }
        }),
      );
      await pg.start();
      const back = performance.now();
      let recoveredMs = Number.NaN;
      for (let i = 0; i < 3000 && performance.now() - back < REQUEST_TIMEOUT_MS; i++) {
        const { answer } = await request("GET /releases", "GET", "/releases");
        if (answer.status >= 200 && answer.status < 300) {
          recoveredMs = performance.now() - back;
          break;
        }
        await sleep(10);
      }
      // Every POST of the outage, retried with its key after it: one release per tag, none twice.
      let once = 0;
      for (const { key, tag } of keys) {
        const { answer } = await request("POST retried", "POST", "/release", { service: "bench", tag }, key);
        const [row] = await admin`SELECT count(*)::int AS n FROM releases WHERE release_tag = ${tag}`;
        if (answer.status >= 200 && answer.status < 300 && row!.n === 1) once++;
      }
      const maxMs = Math.max(...answers.map((a) => a.ms));
      const not503 = answers.filter((a) => a.status !== 503).length;
      const noRetryAfter = answers.filter((a) => a.status === 503 && !a.retryAfter).length;
      const met = maxMs <= GOAL_MS && recoveredMs <= GOAL_MS && not503 === 0 && once === keys.length;
      allMet &&= met;
      const f = (x: number) => (Number.isNaN(x) ? "none" : x.toFixed(0));
      rows.push(
        `| ${round} | ${answers.length} | ${not503} | ${noRetryAfter} | ${f(maxMs)} | ${f(recoveredMs)} | ${once}/${keys.length} |`,
      );
    }
    console.log(
      `\nrelctl approvals service through PostgreSQL outages (pg_ctl stop -m fast, ${OUTAGE_MS / 1000}s each)`,
    );
    console.log(
      `${CLIENTS} clients; POST /release (with Idempotency-Key), PATCH /release, GET /releases, GET /health\n`,
    );
    console.log(
      "| round | requests during the outage | not 503 | 503 without Retry-After | max latency ms | first 2xx after PostgreSQL is back, ms | POSTs applied once on retry |",
    );
    console.log("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const row of rows) console.log(row);
    console.log("");
    console.log(`goal: every answer during the outage a 503 with Retry-After within ${GOAL_MS} ms`);
    console.log(`goal: the first 2xx within ${GOAL_MS} ms of PostgreSQL's return; every POST applied once`);
    console.log(`goals: ${allMet ? "met in every round" : "NOT met"}`);
  } finally {
    if (server && server.exitCode === null) {
      server.kill("SIGTERM");
      const exited = new Promise((r) => server!.once("exit", r));
      await Promise.race([exited, sleep(10_000)]);
      if (server.exitCode === null) server.kill("SIGKILL");
    }
    await admin.end({ timeout: 1 });
    await pg.destroy();
  }
}

await run().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
