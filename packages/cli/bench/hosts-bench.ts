// Benchmark (not a test): a deploy and a rollback to one sshd host against the same to eight
// hosts (all on this machine's test sshd), the mini service with a build that takes BENCH_BUILD
// seconds (default 0.5) and one migration. Rounds alternate one host, eight hosts; the figures are
// medians and the ratio eight / one (1.0: eight hosts cost what one does).
//
//   pnpm bench:hosts [rounds]
import { readFileSync } from "node:fs";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  type RunEvent,
  RunStore,
  runDeploy,
  runRollback,
} from "@relctl/core";
import { createMiniService, createPostgresTestDatabase, startSshd } from "@relctl/testkit";

const ROUNDS = Number(process.argv[2] ?? "3");
const BUILD = process.env.BENCH_BUILD ?? "0.5";
const ci: Actor = { user: "bench", channel: "cli" };
const PREPARE = new Set(["fetch", "checkout", "build"]);

const sshd = await startSshd();
const db = await createPostgresTestDatabase("relctl_bench_hosts");
const svc = await createMiniService({
  service: "fleet",
  tags: [
    { tag: "v1", schema: 1 },
    { tag: "v2", schema: 2 },
  ],
  environments: {
    one: { hosts: 1, extra: "    gate: { approvals: false }" },
    eight: { hosts: 8, extra: "    gate: { approvals: false }" },
  },
  ssh: { port: sshd.port, user: sshd.user, privateKey: sshd.userKeyPath, hostKey: sshd.hostPublicKeyLine },
});
const config = parseConfig(
  readFileSync(svc.configFile, "utf8").replaceAll(
    "      start: sh start.sh\n",
    `      start: sh start.sh\n      build: sleep ${BUILD}\n`,
  ),
  { file: svc.configFile },
);
const releases = new ReleaseStore(db.db.sql);
const runs = new RunStore(db.db.sql);

/** Runs one deploy or rollback; returns its wall time and the span of its preparation steps. */
async function timed(run: (reporter: (e: RunEvent) => void) => Promise<{ status: string; message: string }>) {
  let prepFrom = Number.POSITIVE_INFINITY;
  let prepTo = 0;
  const reporter = (e: RunEvent) => {
    if (e.type === "note" || !PREPARE.has(e.step.id)) return;
    if (e.type === "step-start") prepFrom = Math.min(prepFrom, performance.now());
    else prepTo = Math.max(prepTo, performance.now());
  };
  const t = performance.now();
  const outcome = await run(reporter);
  const ms = performance.now() - t;
  if (outcome.status !== "succeeded") throw new Error(outcome.message);
  return { ms, prepareMs: prepTo > 0 ? prepTo - prepFrom : 0 };
}

const deps = (reporter: (e: RunEvent) => void) => ({ releases, runs, executor: createExecutor(), reporter });
const figures: Record<"one" | "eight", { deploy: number[]; prepare: number[]; rollback: number[] }> = {
  one: { deploy: [], prepare: [], rollback: [] },
  eight: { deploy: [], prepare: [], rollback: [] },
};
try {
  for (const environment of ["one", "eight"] as const) {
    const first = await runDeploy(
      deps(() => {}),
      { config, environment, tag: "v1", actor: ci },
    );
    if (first.status !== "succeeded") throw new Error(first.message);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const environment of ["one", "eight"] as const) {
      const d = await timed((r) => runDeploy(deps(r), { config, environment, tag: "v2", actor: ci }));
      const b = await timed((r) => runRollback(deps(r), { config, environment, toTag: "v1", actor: ci }));
      const live = await svc.liveVersions(environment);
      if (live.some((v) => v !== "v1"))
        throw new Error(`${environment} runs ${live.join(", ")} after the rollback`);
      figures[environment].deploy.push(d.ms);
      figures[environment].prepare.push(d.prepareMs);
      figures[environment].rollback.push(b.ms);
      process.stderr.write(
        `round ${round} ${environment}: deploy ${d.ms.toFixed(0)} ms (prepare ${d.prepareMs.toFixed(0)} ms), rollback ${b.ms.toFixed(0)} ms\n`,
      );
    }
  }
} finally {
  await svc.stop();
  await db.drop();
  await sshd.stop();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const row = (what: "deploy" | "prepare" | "rollback", label: string = what) => {
  const one = median(figures.one[what]);
  const eight = median(figures.eight[what]);
  return `  ${label.padEnd(20)} ${one.toFixed(0).padStart(7)} ms ${eight.toFixed(0).padStart(8)} ms   ${(eight / one).toFixed(1)}×`;
};
console.log(`v1 → v2 and back on sshd hosts, build ${BUILD}s, ${ROUNDS} rounds, medians:`);
console.log("                        1 host    8 hosts   8 / 1");
console.log(row("deploy"));
console.log(row("prepare", "  preparation"));
console.log(row("rollback"));
