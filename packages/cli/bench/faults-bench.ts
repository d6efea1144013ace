// Benchmark (not a test): how fast a cut-off deploy is made safe. On a real sshd host, a deploy
// whose migration is slow has its SSH connection cut mid-migration; the figures are the time from
// the cut to the moment the orphaned migration is confirmed ended on the host, and to the first
// step of the compensation (the automatic rollback). Goal: compensation started ≤ 2 s after the cut.
//
//   pnpm bench:faults [rounds]
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  type RunEvent,
  RunStore,
  runDeploy,
} from "@relctl/core";
import { createMiniService, createPostgresTestDatabase, startSshd } from "@relctl/testkit";

const ROUNDS = Number(process.argv[2] ?? "3");
const ci: Actor = { user: "bench", channel: "cli" };
const marker = (round: number) => `${6 + round}.${String(process.pid).slice(-5).padStart(5, "0")}1`;

const sshd = await startSshd();
const db = await createPostgresTestDatabase("relctl_bench_faults");
const svc = await createMiniService({
  service: "bench",
  tags: [
    { tag: "v0", schema: 1 },
    ...Array.from({ length: ROUNDS }, (_, i) => ({ tag: `v${i + 1}`, schema: 2, migrateSleep: marker(i) })),
  ],
  environments: { production: { hosts: 1 } },
  ssh: { port: sshd.port, user: sshd.user, privateKey: sshd.userKeyPath, hostKey: sshd.hostPublicKeyLine },
});
const config = parseConfig(
  readFileSync(svc.configFile, "utf8").replace(
    "  production:\n",
    "  production:\n    gate: { approvals: false }\n",
  ),
  { file: svc.configFile },
);
const releases = new ReleaseStore(db.db.sql);
const runs = new RunStore(db.db.sql);
const running = (m: string) => {
  try {
    return execFileSync("pgrep", ["-f", `^sleep ${m}$`], { encoding: "utf8" }).trim().length > 0;
  } catch {
    return false;
  }
};

const rows: { round: number; endedMs: number; compensationMs: number; status: string }[] = [];
try {
  await runDeploy(
    { releases, runs, executor: createExecutor() },
    { config, environment: "production", tag: "v0", actor: ci },
  );
  for (let round = 0; round < ROUNDS; round++) {
    let cutAt = 0;
    let endedAt = 0;
    let compensationAt = 0;
    let lostAt = 0;
    let reconnectedAt = 0;
    const reporter = (e: RunEvent) => {
      if (e.type === "step-end" && e.step.id === "migrate" && !lostAt) lostAt = performance.now();
      if (e.type === "step-start" && e.step.id === "end-step" && !reconnectedAt)
        reconnectedAt = performance.now();
      if (e.type === "step-end" && e.step.id === "end-step" && e.ok && !endedAt) endedAt = performance.now();
      if (e.type === "step-start" && e.step.id === "migrate-down" && !compensationAt)
        compensationAt = performance.now();
    };
    const cutter = (async () => {
      for (let i = 0; i < 400 && !running(marker(round)); i++) await new Promise((r) => setTimeout(r, 25));
      cutAt = performance.now();
      sshd.dropConnections();
    })();
    const outcome = await runDeploy(
      { releases, runs, executor: createExecutor(), reporter },
      { config, environment: "production", tag: `v${round + 1}`, actor: ci },
    );
    await cutter;
    if (process.env.BENCH_DETAIL)
      console.error(
        `lost seen ${Math.round(lostAt - cutAt)} ms, reconnected ${Math.round(reconnectedAt - cutAt)} ms`,
      );
    rows.push({
      round: round + 1,
      endedMs: Math.round(endedAt - cutAt),
      compensationMs: Math.round(compensationAt - cutAt),
      status: outcome.status,
    });
  }
} finally {
  await svc.stop();
  await db.drop();
  await sshd.stop();
}

console.log("lost connection mid-migration, one sshd host (times from the cut):");
console.log("round  orphan ended  compensation started  run");
for (const r of rows)
  console.log(
    `${String(r.round).padStart(5)}  ${`${r.endedMs} ms`.padStart(12)}  ${`${r.compensationMs} ms`.padStart(20)}  ${r.status}`,
  );
const worst = Math.max(...rows.map((r) => r.compensationMs));
console.log(`worst compensation start: ${worst} ms (goal ≤ 2000 ms): ${worst <= 2000 ? "met" : "not met"}`);
