// Benchmark of the approvals service's HTTP API against this machine's PostgreSQL.
//   pnpm bench:api [--seconds 5] [--concurrency 16] [--rate 100] [--profile-dir d]
// Four sides, interleaved on the same server in one run (A B C D A B C D), each for --seconds:
//   A: pgbench, --concurrency clients on as many connections (-c), each transaction one
//      single-row INSERT (autocommit: one statement, one round trip, one commit).
//   B: the API, --concurrency HTTP clients as fast as it answers, each doing POST /release then
//      PATCH /release with an Idempotency-Key per request (as the action sends them); the service
//      gets a pool of --concurrency connections (RELCTL_DB_POOL_SIZE), as pgbench does. Each request
//      is one committed transaction: the token check, the key's claim, the release's lock, the
//      change, its audit event (linked into the audit chain) and the key's answer.
//   C: A's pgbench inserting audit events instead: what the audit chain's trigger costs a commit
//      (the events its clients leave queued are linked after it, in its time).
//   D: pgbench doing what one POST /release does in the database — the token check, the key's
//      claim and read, the release's lock, the clock, the insert, its audit event, the key's answer
//      — as one transaction sent in one round trip (a pipeline): what the database alone allows
//      a write, with no HTTP and no Node, on the same server (the ceiling B cannot pass).
// It prints each side's rate and their ratio (B requests/s over A transactions/s), B's CPU time per
// request (the service, this process's HTTP clients, the server processes of the service's
// database connections; from /proc), then p50/p99 latency in an open loop at --rate requests/s,
// and checks that the audit chain holds every event the run wrote. The open loop runs once the
// database has settled from the saturating sides (a CHECKPOINT and VACUUM ANALYZE first): their
// few hundred thousand inserts leave it a checkpoint and autovacuum to run, whose I/O would
// // otherwise stall any client's commits, pgbench's too, for 50-150 ms. With --profile-dir, the
// service runs under node --cpu-prof and its CPU profile is written there (the path is printed).
// Everything runs on 127.0.0.1 and stops by itself.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
const { TokenStore, hashApiToken, verifyAuditChain } = await import("@relctl/core");
const { createPostgresTestDatabase, freePort } = await import("@relctl/testkit");

const { values } = parseArgs({
  // `pnpm bench:api -- --seconds 3` passes the "--" through.
  args: process.argv.slice(2).filter((a) => a !== "--"),
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
  /** The HTTP status, and the error code of a refused one. */
  readonly status?: string;
}

const statusOf = (r: { status: number; json: Record<string, unknown> }): string =>
  r.status < 400
    ? String(r.status)
    : `${r.status} ${(r.json.error as { code?: string } | undefined)?.code ?? ""}`;

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
    { RELCTL_DB_POOL_SIZE: String(CONCURRENCY) },
  );
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY * 2, pipelining: 1 });
  const headers = { authorization: `Bearer ${secret}`, "content-type": "application/json" };
  let n = 0;
  let keys = 0;
  /** A process's CPU time so far (user + system), in ms, from /proc (NaN where there is none). */
  const cpuMsOf = (pid: number | undefined): number => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
    } catch {
      return Number.NaN;
    }
  };
  /** The CPU time so far of each server process on the benchmark's database (the service's connections). */
  const backendsCpuMs = async (): Promise<Map<number, number>> => {
    const rows = await db.db.sql`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`;
    return new Map(rows.map((r) => [Number(r.pid), cpuMsOf(Number(r.pid))]));
  };
  /** CPU ms the service, this process (the HTTP clients) and the database's server processes spent. */
  const cpuMeter = async () => {
    const service = cpuMsOf(server.pid);
    const client = process.cpuUsage();
    const backends = await backendsCpuMs();
    return async () => {
      const used = process.cpuUsage(client);
      let database = 0;
      for (const [pid, ms] of await backendsCpuMs()) database += ms - (backends.get(pid) ?? 0);
      return {
        service: cpuMsOf(server.pid) - service,
        client: (used.user + used.system) / 1000,
        database,
      };
    };
  };

  async function call(
    method: "POST" | "PATCH",
    body: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await pool.request({
      path: "/release",
      method,
      headers: { ...headers, "idempotency-key": `bench-${process.pid}-${++keys}` },
      body: JSON.stringify(body),
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    return { status: res.statusCode, json };
  }

  /** One unit of work: create a release, then move it to stage_building. Two requests. */
  async function pair(samples: Sample[]): Promise<void> {
    const tag = `v0.0.${++n}`;
    let t = performance.now();
    const created = await call("POST", { service: "bench", tag });
    samples.push({ ms: performance.now() - t, ok: created.status === 201, status: statusOf(created) });
    t = performance.now();
    const moved = await call("PATCH", { release_id: created.json.release_id, status: "stage_building" });
    samples.push({ ms: performance.now() - t, ok: moved.status === 200, status: statusOf(moved) });
  }

  try {
    for (let i = 0; i < 100; i++) await pair([]); // warm-up

    /** B: CONCURRENCY clients as fast as the API answers, for SECONDS. */
    type Cpu = { service: number; client: number; database: number };
    async function apiRun(): Promise<{ samples: Sample[]; seconds: number; cpu: Cpu }> {
      const samples: Sample[] = [];
      const meter = await cpuMeter();
      const until = performance.now() + SECONDS * 1000;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < until) await pair(samples);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return { samples, seconds, cpu: await meter() };
    }

    // A: pgbench's single-row INSERTs, one per transaction, same server, same client count.
    await db.db
      .sql`CREATE TABLE pgbench_single_row (id bigserial PRIMARY KEY, v int NOT NULL, at timestamptz NOT NULL DEFAULT now())`;
    const dir = mkdtempSync(join(tmpdir(), "relctl-bench-"));
    const script = join(dir, "insert.sql");
    writeFileSync(script, "\\set v random(1, 1000000)\nINSERT INTO pgbench_single_row (v) VALUES (:v);\n");
    // C: the same through the audit's table, so its chain trigger runs as each insert commits.
    const auditScript = join(dir, "audit.sql");
    writeFileSync(
      auditScript,
      `INSERT INTO audit_events (actor, channel, action, after) VALUES ('bench', 'api', 'bench.insert', '{"v": 1}');\n`,
    );
    // D: POST /release's statements (release-routes.ts, idempotency.ts, release-store.ts), as one
    // pipelined transaction. Each run creates a release of a new tag, as B's do.
    const H = hashApiToken(secret);
    const token = `token_hash = '${H}' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;
    const replayScript = join(dir, "post-release.sql");
    writeFileSync(
      replayScript,
      [
        "\\set r random(1, 9000000000000000)",
        "\\startpipeline",
        "BEGIN;",
        `SELECT * FROM api_tokens WHERE ${token};`,
        `INSERT INTO idempotency_keys (token_id, key, request_hash, status, body) SELECT id, 'k' || :r::text, 'h', 0, '{}'::jsonb FROM api_tokens WHERE ${token} ON CONFLICT (token_id, key) DO NOTHING RETURNING key;`,
        `SELECT k.request_hash, k.status, k.body FROM idempotency_keys k JOIN api_tokens t ON t.id = k.token_id WHERE t.token_hash = '${H}' AND k.key = 'k' || :r::text;`,
        "SELECT * FROM releases WHERE service_name = 'replay' AND release_tag = 'v' || :r::text ORDER BY attempt DESC LIMIT 1 FOR UPDATE;",
        "SELECT now() AS now, nextval(pg_get_serial_sequence('releases', 'id')) AS next_id;",
        "INSERT INTO releases (id, service_name, release_tag, attempt, rollback_to_tag, status, initiated_by, github_run_id, github_action_link, github_ref, approved_list, created_at, updated_at) VALUES (currval(pg_get_serial_sequence('releases', 'id')), 'replay', 'v' || :r::text, 1, NULL, 'initiated', 'bench', NULL, NULL, NULL, '[]'::jsonb, now(), now());",
        `INSERT INTO audit_events (actor, channel, action, release_id, before, after, trace_id) VALUES ('bench', 'api', 'release.create', currval(pg_get_serial_sequence('releases', 'id')), NULL, '{"service": "replay", "status": "initiated", "attempt": 1}'::jsonb, NULL);`,
        `UPDATE idempotency_keys SET status = 201, body = '{"created": true}'::jsonb WHERE token_id = (SELECT id FROM api_tokens WHERE token_hash = '${H}') AND key = 'k' || :r::text;`,
        "COMMIT;",
        "\\endpipeline",
        "",
      ].join("\n"),
    );
    const url = new URL(db.url!);
    /** pgbench's tps for a script; `prepared`: the extended protocol with prepared statements. */
    const pgbenchRun = (file = script, prepared = false): number => {
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
          ...(prepared ? ["-M", "prepared"] : []),
          "-f",
          file,
          url.pathname.slice(1),
        ],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
          // Not the chain's notice for each event C leaves queued.
          env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
        },
      );
      return Number(/tps = ([\d.]+)/.exec(out)?.[1]);
    };

    /**
     * C or D, and the linking of the audit events its clients left queued (pgbench does not link
     * them, as relctl serve does), counted in its time: transactions / (pgbench's seconds + the
     * linking's). D's pipeline takes the extended protocol; C keeps pgbench's default, as A does.
     */
    const pgbenchLinkedRun = async (file: string, prepared = false): Promise<number> => {
      const tps = pgbenchRun(file, prepared);
      const started = performance.now();
      await db.db.sql`SELECT relctl_audit_chain_extend()`;
      const linking = (performance.now() - started) / 1000;
      return (tps * SECONDS) / (SECONDS + linking);
    };
    const rounds: {
      tps: number;
      api: { samples: Sample[]; seconds: number; cpu: Cpu };
      auditTps: number;
      replayTps: number;
    }[] = [];
    for (let round = 0; round < 2; round++) {
      const tps = pgbenchRun();
      const api = await apiRun();
      const auditTps = await pgbenchLinkedRun(auditScript);
      rounds.push({ tps, api, auditTps, replayTps: await pgbenchLinkedRun(replayScript, true) });
    }
    rmSync(dir, { recursive: true, force: true });

    // The saturating sides' inserts leave the database a checkpoint and autovacuum to run; the
    // open loop measures the API, once they are done.
    await db.db.sql`CHECKPOINT`;
    await db.db.sql.unsafe("VACUUM ANALYZE");

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
        open.push({ ms: performance.now() - due, ok: created.status === 201, status: statusOf(created) });
        const t = performance.now();
        const moved = await call("PATCH", { release_id: created.json.release_id, status: "stage_building" });
        open.push({ ms: performance.now() - t, ok: moved.status === 200, status: statusOf(moved) });
      }),
    );

    const report = (name: string, samples: Sample[], seconds?: number) => {
      const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
      const failures = samples.filter((s) => !s.ok);
      const byStatus = new Map<string, number>();
      for (const s of failures) byStatus.set(s.status ?? "?", (byStatus.get(s.status ?? "?") ?? 0) + 1);
      const failed =
        failures.length === 0
          ? "0"
          : `${failures.length} (${[...byStatus].map(([k, v]) => `${v}× ${k.trim()}`).join(", ")})`;
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
    // Events left queued by writes that found the chain's lock taken: the service links them soon after.
    await new Promise((r) => setTimeout(r, 500));
    const [queued] = await db.db.sql`SELECT count(*)::int AS n FROM audit_chain_pending`;
    const chain = await verifyAuditChain(db.db.sql);
    const [events] = await db.db.sql`SELECT count(*)::int AS n FROM audit_events`;
    const f = (x: number | undefined, d = 1) => (x === undefined ? "-" : x.toFixed(d));
    console.log("\nrelctl API benchmark (POST /release + PATCH /release) on 127.0.0.1 PostgreSQL");
    console.log(`cores: ${execFileSync("nproc", { encoding: "utf8" }).trim()}, node ${process.version}`);
    console.log(
      `\nA = pgbench single-row INSERT, one per transaction (tps), ${CONCURRENCY} clients on ${CONCURRENCY} connections;`,
    );
    console.log(
      `B = API writes, POST + PATCH /release with Idempotency-Keys (requests/s), ${CONCURRENCY} clients, service pool ${CONCURRENCY} connections;`,
    );
    console.log(
      `C = A's pgbench inserting into audit_events instead (each insert linked into the audit chain as it commits);`,
    );
    console.log(
      `D = pgbench doing one POST /release's transaction (its statements, one round trip); ${SECONDS}s each, A B C D A B C D\n`,
    );
    console.log(
      "| run | rate /s | failed | p50 ms | p99 ms | CPU ms/request: service, clients, database | B / A |",
    );
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    rounds.forEach((r, i) => {
      const api = report("", r.api.samples, r.api.seconds);
      console.log(`| A${i + 1} pgbench | ${f(r.tps, 0)} | | | | | |`);
      console.log(
        `| B${i + 1} API | ${f(api.rps, 0)} | ${api.failed} | ${f(api.p50, 2)} | ${f(api.p99, 2)} | ${[r.api.cpu.service, r.api.cpu.client, r.api.cpu.database].map((ms) => f(ms / r.api.samples.length, 2)).join(", ")} | ${f((api.rps ?? 0) / r.tps, 2)} |`,
      );
      console.log(`| C${i + 1} pgbench audit_events | ${f(r.auditTps, 0)} | | | | | |`);
      console.log(
        `| D${i + 1} pgbench, one POST's transaction | ${f(r.replayTps, 0)} | | | | | ${f(r.replayTps / r.tps, 2)} |`,
      );
    });
    console.log(`| ${paced.name} | | ${paced.failed} | ${f(paced.p50, 2)} | ${f(paced.p99, 2)} | | |`);
    console.log("");
    const tps = rounds.reduce((sum, r) => sum + r.tps, 0) / rounds.length;
    const rps = rounds.reduce((sum, r) => sum + r.api.samples.length / r.api.seconds, 0) / rounds.length;
    const ratio = rps / tps;
    console.log(
      `pgbench ${f(tps, 0)} tps, API ${f(rps, 0)} requests/s: ratio ${f(ratio, 2)}  (goal ≥ 0.25: ${ratio >= 0.25 ? "met" : "NOT met"})`,
    );
    const replay = rounds.reduce((sum, r) => sum + r.replayTps, 0) / rounds.length;
    console.log(
      `the database alone, one POST's transaction in one round trip (D): ${f(replay, 0)} tps, ${f(replay / tps, 2)} of pgbench's insert: the most any API doing that write could reach`,
    );
    console.log(
      `at ${RATE} requests/s: p50 ${f(paced.p50, 2)} ms, p99 ${f(paced.p99, 2)} ms  (goal p99 ≤ 25 ms: ${paced.p99 <= 25 ? "met" : "NOT met"})`,
    );
    console.log(
      `audit chain: ${chain.links} links for ${events!.n} events, ${chain.ok ? "verifies" : `BROKEN (${chain.brokenCount} breaks)`}; ${queued!.n} queued for their link 0.5 s after the last write`,
    );
    if (!chain.ok || chain.links !== events!.n) process.exitCode = 1;
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
