// Benchmark (not a test): deploys and rollbacks to 1, 2, 4 and 8 sshd hosts (all on this
// machine's test sshd), the mini service with a build that takes BENCH_BUILD seconds (default
// 0.5) and one migration. The deploys switch every host at once (`rollout: { batch: "100%" }`);
// an eight-host environment with the default rollout (batch 1, host by host) is timed beside them
// for comparison. Rounds go through the sizes in turn, the order reversed every other round
// (1 2 4 8 8h, 8h 8 4 2 1, …); the figures are medians and ratios to one host. Goal: eight hosts
// ≤ 1.5× one host, for the deploy and for the rollback.
//
// Then where the time goes: each run's span per phase, read from the steps the RunStore recorded
// (before the run: planning and the deploy lock; connect/lock: from the run's record to its first
// step — the SSH sessions and the host locks; then check, prepare, migrate, switch, health,
// retire, prune; after: closing the run), how many steps of a phase ran at once, the CPU time
// relctl's process and the hosts' side (sshd and its commands) used, and what a step that does
// nothing costs here on one host and on eight at once.
//
//   pnpm bench:hosts [rounds]
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  type RunEvent,
  type RunOutcome,
  RunStore,
  runDeploy,
  runRollback,
} from "@relctl/core";
import { createMiniService, createPostgresTestDatabase, startSshd } from "@relctl/testkit";

const ROUNDS = Number(process.argv[2] ?? "3");
const BUILD = process.env.BENCH_BUILD ?? "0.5";
const ci: Actor = { user: "bench", channel: "cli" };
const PREPARE = new Set(["fetch", "checkout", "build"]);
const SIZES = [1, 2, 4, 8] as const;
/** The environments timed: one per size (batch 100%), and eight hosts host by host. */
const ENVIRONMENTS = ["h1", "h2", "h4", "h8", "h8-serial"] as const;
type Environment = (typeof ENVIRONMENTS)[number];
const hostsOf = (e: Environment) => (e === "h8-serial" ? 8 : Number(e.slice(1)));

/** The phase of a recorded step (see the plan's phases). */
const PHASE_OF: Record<string, string> = {
  current: "check",
  "tag-present": "check",
  "release-present": "check",
  fetch: "prepare",
  checkout: "prepare",
  build: "prepare",
  migrate: "migrate",
  "migrate-down": "migrate",
  "schema-version": "migrate",
  switch: "switch",
  start: "switch",
  stop: "switch",
  "slot-start": "switch",
  "proxy-switch": "switch",
  health: "health",
  retire: "retire",
  prune: "prune",
};
const ACTIVATION = "  switch+health";
const PHASES = [
  "before the run",
  "connect/lock",
  "check",
  "prepare",
  "migrate",
  "switch",
  "health",
  ACTIVATION,
  "retire",
  "prune",
  "after",
] as const;

const sshd = await startSshd();
const db = await createPostgresTestDatabase("relctl_bench_hosts");
const gate = "    gate: { approvals: false }";
const svc = await createMiniService({
  service: "fleet",
  tags: [
    { tag: "v1", schema: 1 },
    { tag: "v2", schema: 2 },
  ],
  environments: Object.fromEntries(
    ENVIRONMENTS.map((e) => [
      e,
      { hosts: hostsOf(e), extra: e === "h8-serial" ? gate : `${gate}\n    rollout: { batch: "100%" }` },
    ]),
  ),
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
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const runs = new RunStore(db.db.sql);

/** One phase of one run: its span (first step's start to last step's end), and its steps' durations. */
interface PhaseFigure {
  readonly span: number;
  readonly stepMs: number;
  readonly steps: number;
}
type Phases = Record<string, PhaseFigure>;
/** Not phases: the SSH steps every host ran one after another, and those only the first host ran besides. */
const EVERY_HOST = "ssh steps, every host";
const FIRST_ONLY = "ssh steps, the first host only";

/** Each phase of one run, from the recorded steps; the activation is switch and health together. */
async function phasesOf(outcome: RunOutcome, from: number, to: number): Promise<Phases> {
  const steps = await runs.listSteps(outcome.run.id);
  const out: Record<string, { from: number; to: number; stepMs: number; steps: number }> = {};
  const add = (phase: string, start: number, ms: number) => {
    out[phase] ??= { from: start, to: start, stepMs: 0, steps: 0 };
    const p = out[phase];
    p.from = Math.min(p.from, start);
    p.to = Math.max(p.to, start + ms);
    p.stepMs += ms;
    p.steps++;
  };
  for (const s of steps) {
    const phase = PHASE_OF[s.step] ?? s.step;
    add(phase, s.startedAt.getTime(), s.durationMs);
    if (phase === "switch" || phase === "health") add(ACTIVATION, s.startedAt.getTime(), s.durationMs);
  }
  const runStart = outcome.run.startedAt.getTime();
  const first = Math.min(...steps.map((s) => s.startedAt.getTime()));
  const last = Math.max(...steps.map((s) => s.startedAt.getTime() + s.durationMs));
  const figures: Phases = {};
  for (const [phase, p] of Object.entries(out))
    figures[phase] = { span: p.to - p.from, stepMs: p.stepMs, steps: p.steps };
  figures["before the run"] = { span: runStart - from, stepMs: 0, steps: 0 };
  figures["connect/lock"] = { span: first - runStart, stepMs: 0, steps: 0 };
  figures.after = { span: to - last, stepMs: 0, steps: 0 };
  // Steps over SSH per host (health probes go from relctl), with the host lock taken and freed:
  // what every host runs one after another, and what the first host (migrations, the tag check)
  // runs besides.
  const perHost = new Map<string, number>();
  for (const s of steps) if (s.step !== "health") perHost.set(s.host, (perHost.get(s.host) ?? 0) + 1);
  const counts = [...perHost.values()];
  const every = Math.min(...counts) + 2;
  figures[EVERY_HOST] = { span: 0, stepMs: 0, steps: every };
  figures[FIRST_ONLY] = { span: 0, stepMs: 0, steps: Math.max(...counts) + 2 - every };
  return figures;
}

/** The machine's CPU time so far (/proc/stat, all processes): busy and total, in ticks. */
function cpuTicks(): { busy: number; total: number } {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * CPU time (ms) of the test sshd and everything it ran that has ended (its per-connection
 * processes and their commands, reaped when a run closes its sessions; not the services the runs
 * started, which live on detached).
 */
const sshdPid = (() => {
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(readFileSync(`/proc/${e}/stat`, "utf8"));
      if (m?.[1] === "sshd" && Number(m[2]) === process.pid) return Number(e);
    } catch {}
  }
  return undefined;
})();
function sshdCpuMs(): number {
  if (sshdPid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${sshdPid}/stat`, "utf8");
    const f = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    // utime, stime, cutime, cstime: fields 14–17 of stat, in clock ticks (100 a second).
    return (f[11]! + f[12]! + f[13]! + f[14]!) * 10;
  } catch {
    return 0;
  }
}

/** Runs one deploy or rollback; returns its wall time, its preparation's span, its phases, the CPU busy share. */
async function timed(run: (reporter: (e: RunEvent) => void) => Promise<RunOutcome>) {
  let prepFrom = Number.POSITIVE_INFINITY;
  let prepTo = 0;
  const reporter = (e: RunEvent) => {
    if (e.type === "note" || !PREPARE.has(e.step.id)) return;
    if (e.type === "step-start") prepFrom = Math.min(prepFrom, performance.now());
    else prepTo = Math.max(prepTo, performance.now());
  };
  const cpu = cpuTicks();
  const own = process.cpuUsage();
  const hosts = sshdCpuMs();
  const from = Date.now();
  const t = performance.now();
  const outcome = await run(reporter);
  const ms = performance.now() - t;
  const to = Date.now();
  const cpuAfter = cpuTicks();
  const ownMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(own));
  // The run's SSH connections have closed; their sshd processes are reaped a moment later.
  await new Promise((r) => setTimeout(r, 300));
  const hostsMs = sshdCpuMs() - hosts;
  if (outcome.status !== "succeeded") throw new Error(outcome.message);
  return {
    ms,
    prepareMs: prepTo > 0 ? prepTo - prepFrom : 0,
    phases: await phasesOf(outcome, from, to),
    busy: (cpuAfter.busy - cpu.busy) / Math.max(1, cpuAfter.total - cpu.total),
    ownMs,
    hostsMs,
  };
}

const deps = (reporter: (e: RunEvent) => void) => ({ releases, runs, executor: createExecutor(), reporter });
interface Figures {
  readonly deploy: number[];
  readonly prepare: number[];
  readonly rollback: number[];
  readonly deployPhases: Phases[];
  readonly rollbackPhases: Phases[];
  readonly deployBusy: number[];
  readonly rollbackBusy: number[];
  /** CPU ms of relctl's own process, and of the hosts' sshd and commands, per run. */
  readonly deployCpu: [own: number, hosts: number][];
  readonly rollbackCpu: [own: number, hosts: number][];
}
const figures = Object.fromEntries(
  ENVIRONMENTS.map((e) => [
    e,
    {
      deploy: [],
      prepare: [],
      rollback: [],
      deployPhases: [],
      rollbackPhases: [],
      deployBusy: [],
      rollbackBusy: [],
      deployCpu: [],
      rollbackCpu: [],
    },
  ]),
) as unknown as Record<Environment, Figures>;
const loadBefore = loadavg();
/**
 * What one step costs on these hosts before relctl does anything: a step that does nothing
 * (`true`) over SSH, on one host, and on eight at once (each host's own session), measured at the
 * start of every round. sshd runs every step through the login user's shell, so its start-up
 * (e.g. a ~/.bashrc) is paid per step, and here eight hosts pay it on the same CPUs.
 */
async function noOpSteps(hosts: number): Promise<number[]> {
  const executor = createExecutor();
  const targets = config.environments.h8!.hosts.slice(0, hosts);
  const sessions = await Promise.all(targets.map((h) => executor.open(h)));
  const times: number[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      await Promise.all(
        sessions.map((s) => s.run({ id: "no-op", title: "true", argv: ["true"], timeoutMs: 30_000 })),
      );
      if (i > 0) times.push(performance.now() - t);
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  return times;
}
const noOpSamples: Record<1 | 8, number[]> = { 1: [], 8: [] };

try {
  for (const environment of ENVIRONMENTS) {
    const first = await runDeploy(
      deps(() => {}),
      { config, environment, tag: "v1", actor: ci },
    );
    if (first.status !== "succeeded") throw new Error(first.message);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    for (const n of [1, 8] as const) noOpSamples[n].push(...(await noOpSteps(n)));
    const order = round % 2 === 1 ? ENVIRONMENTS : [...ENVIRONMENTS].reverse();
    for (const environment of order) {
      const d = await timed((r) => runDeploy(deps(r), { config, environment, tag: "v2", actor: ci }));
      const b = await timed((r) => runRollback(deps(r), { config, environment, toTag: "v1", actor: ci }));
      const live = await svc.liveVersions(environment);
      if (live.some((v) => v !== "v1"))
        throw new Error(`${environment} runs ${live.join(", ")} after the rollback`);
      const f = figures[environment];
      f.deploy.push(d.ms);
      f.prepare.push(d.prepareMs);
      f.rollback.push(b.ms);
      f.deployPhases.push(d.phases);
      f.rollbackPhases.push(b.phases);
      f.deployBusy.push(d.busy);
      f.rollbackBusy.push(b.busy);
      f.deployCpu.push([d.ownMs, d.hostsMs]);
      f.rollbackCpu.push([b.ownMs, b.hostsMs]);
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

const envOf = (n: number): Environment => `h${n}` as Environment;
const cell = (ms: number) => `${ms.toFixed(0).padStart(7)} ms`;
const ratio = (x: number) => `${x.toFixed(2)}×`.padStart(10);
const row = (what: "deploy" | "prepare" | "rollback", label: string = what) => {
  const one = median(figures.h1[what]);
  const values = SIZES.map((n) => median(figures[envOf(n)][what]));
  return [
    `  ${label.padEnd(16)}${values.map(cell).join("")}`,
    `  ${"  / one host".padEnd(16)}${values.map((v) => ratio(v / one)).join("")}`,
  ].join("\n");
};
const goal = (what: "deploy" | "rollback") => {
  const r = median(figures.h8[what]) / median(figures.h1[what]);
  return `  8 hosts ${what}: ${r.toFixed(2)}× one host (goal ≤ 1.5×: ${r <= 1.5 ? "met" : "not met"})`;
};
console.log(
  `v1 → v2 and back on sshd hosts (all on this machine), build ${BUILD}s, rollout batch 100%, ${ROUNDS} rounds, medians:`,
);
console.log(`  ${"".padEnd(16)}${SIZES.map((n) => `${n} host${n > 1 ? "s" : ""}`.padStart(10)).join("")}`);
console.log(row("deploy"));
console.log(row("prepare", "  preparation"));
console.log(row("rollback"));
console.log(goal("deploy"));
console.log(goal("rollback"));
const serial = median(figures["h8-serial"].deploy);
console.log(
  `  8 hosts, default rollout (batch 1, host by host): deploy ${serial.toFixed(0)} ms, ${(serial / median(figures.h1.deploy)).toFixed(2)}× one host`,
);

/**
 * Median figures per phase, one host against eight (and eight host by host, for the deploy): the
 * span, the mean duration of one step, and how many steps ran at once on average (the steps'
 * durations over the span: 8 when eight hosts' steps fully overlap, 1 when they run in turn).
 */
const breakdown = (kind: "deploy" | "rollback") => {
  const f = (e: Environment) => figures[e][kind === "deploy" ? "deployPhases" : "rollbackPhases"];
  const med = (e: Environment, p: string, of: (x: PhaseFigure) => number) =>
    median(f(e).map((x) => (x[p] ? of(x[p]) : 0)));
  const mean = (x: PhaseFigure) => (x.steps ? x.stepMs / x.steps : 0);
  const atOnce = (x: PhaseFigure) => (x.span > 0 ? x.stepMs / x.span : 0);
  const serial = kind === "deploy";
  console.log(`\n${kind}: where the time goes (medians, ms)`);
  console.log(
    `  ${"phase".padEnd(16)}${["span 1", "span 8", "8 − 1", ...(serial ? ["8 by host"] : []), "step 1", "step 8", "at once 8"].map((c) => c.padStart(10)).join("")}`,
  );
  for (const p of PHASES) {
    const one = med("h1", p, (x) => x.span);
    const eight = med("h8", p, (x) => x.span);
    const byHost = med("h8-serial", p, (x) => x.span);
    if (one === 0 && eight === 0 && (!serial || byHost === 0)) continue;
    const measured = f("h8").some((x) => (x[p]?.steps ?? 0) > 0);
    const cells = [
      one.toFixed(0),
      eight.toFixed(0),
      (eight - one).toFixed(0),
      ...(serial ? [byHost.toFixed(0)] : []),
      measured ? med("h1", p, mean).toFixed(0) : "",
      measured ? med("h8", p, mean).toFixed(0) : "",
      measured ? med("h8", p, atOnce).toFixed(1) : "",
    ];
    console.log(`  ${p.padEnd(16)}${cells.map((c) => c.padStart(10)).join("")}`);
  }
  const busy = (e: Environment) =>
    `${(median(figures[e][kind === "deploy" ? "deployBusy" : "rollbackBusy"]) * 100).toFixed(0)}%`;
  console.log(
    `  the machine's CPUs (${cpus().length}, every process on it) were busy ${busy("h1")} of a one-host ${kind}, ${busy("h8")} of an eight-host one`,
  );
};
breakdown("deploy");
breakdown("rollback");

/** CPU time a run costs, by size: relctl's own process, and the hosts' side (sshd and its commands). */
console.log("\nCPU time per run (medians, ms): relctl's process + the hosts' sshd and commands");
console.log(`  ${"".padEnd(16)}${SIZES.map((n) => `${n} host${n > 1 ? "s" : ""}`.padStart(14)).join("")}`);
for (const kind of ["deploy", "rollback"] as const) {
  const cells = SIZES.map((n) => {
    const xs = figures[envOf(n)][kind === "deploy" ? "deployCpu" : "rollbackCpu"];
    return `${median(xs.map((x) => x[0])).toFixed(0)} + ${median(xs.map((x) => x[1])).toFixed(0)}`.padStart(
      14,
    );
  });
  console.log(`  ${kind.padEnd(16)}${cells.join("")}`);
}
const noOp = { 1: median(noOpSamples[1]), 8: median(noOpSamples[8]) };
console.log(
  `\na step that does nothing (true) over SSH here: ${noOp[1].toFixed(0)} ms on one host, ${noOp[8].toFixed(0)} ms on eight at once (${(noOp[8] / noOp[1]).toFixed(1)}×)`,
);
for (const kind of ["deploy", "rollback"] as const) {
  const count = (e: Environment, which: string) =>
    median(figures[e][kind === "deploy" ? "deployPhases" : "rollbackPhases"].map((x) => x[which]!.steps));
  const [one, every, first] = [count("h1", EVERY_HOST), count("h8", EVERY_HOST), count("h8", FIRST_ONLY)];
  const [wall1, wall8] = [median(figures.h1[kind]), median(figures.h8[kind])];
  console.log(
    `  a ${kind}: ${one} SSH steps one after another on one host; on eight, ${every} on every host and ${first} more on the first. At a no-op step's cost that is ≈ ${(one * noOp[1]).toFixed(0)} of ${wall1.toFixed(0)} ms, and ≈ ${(every * noOp[8] + first * noOp[1]).toFixed(0)} of ${wall8.toFixed(0)} ms`,
  );
}
const loadAfter = loadavg();
console.log(
  `\nload average (1 min) at the start ${loadBefore[0]!.toFixed(1)}, at the end ${loadAfter[0]!.toFixed(1)}, on ${cpus().length} CPUs`,
);
