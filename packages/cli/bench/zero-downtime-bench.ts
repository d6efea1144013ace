// Benchmark (not a test): do requests fail, or slow down, while relctl switches a service?
// BENCH_HOSTS (default 2) sshd hosts (all on this machine's test sshd), each with its own HAProxy
// in front of the mini service's blue and green ports (`proxy:`, drain 3s; `gate: { approvals:
// false }`: the benchmark times the runbooks, not the approvals). A separate process
// sends GET / through the proxies at BENCH_RATE requests a second (default 300, round-robin over
// the hosts), open-loop: each request at its scheduled time, its latency measured from then.
// Each round runs, under that load:
//
//   (a) a deploy v1 → v2
//   (b) a deploy of v3, unhealthy: rolled back by itself to v2 (v3 must never answer)
//   (c) a manual rollback v2 → v1 (runRollback)
//
// each after a quiet window of at least its own length (the baseline: the same load, no run).
// Per phase: requests sent during the runs, failed ones (a status other than 200, no answer, or a
// body that is not {"status":"ok"} naming a version live at that moment), and p50/p99 latency
// during the runs against the baseline windows right before them, with the ratio. The same is then
// measured without a proxy (the in-place restart, requests straight to the service's port): the
// figure before blue/green, expected to fail requests while the service restarts.
//
//   pnpm bench:zero-downtime [rounds]
import { type ChildProcess, fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  type RunOutcome,
  RunStore,
  runDeploy,
  runRollback,
} from "@relctl/core";
import {
  createMiniService,
  createPostgresTestDatabase,
  freePort,
  type Haproxy,
  haproxyInstalled,
  startHaproxy,
  startSshd,
} from "@relctl/testkit";
import { type Answer, type LoadCommand, now, SERVE } from "./open-loop-load.js";

const ROUNDS = Number(process.argv[2] ?? "2");
const HOSTS = Number(process.env.BENCH_HOSTS ?? "2");
const RATE = Number(process.env.BENCH_RATE ?? "300");
/** The shortest quiet window before a run (longer when a run of its phase took longer). */
const QUIET_MS = Number(process.env.BENCH_QUIET_MS ?? "2000");
const DRAIN = "3s";
const ci: Actor = { user: "bench", channel: "cli" };

if (!haproxyInstalled()) {
  console.error("haproxy is not installed here (Debian: apt-get install haproxy socat)");
  process.exit(2);
}

const PHASES = ["deploy v1 → v2", "automatic rollback (v3)", "manual rollback → v1"] as const;
type Phase = (typeof PHASES)[number];
type Setup = "proxy" | "plain";

const sshd = await startSshd();
const db = await createPostgresTestDatabase("relctl_bench_zero_downtime");
const ports: [number, number][] = [];
for (let i = 0; i < HOSTS; i++) ports.push([await freePort(), await freePort()]);
const gate = "    gate: { approvals: false }";
const svc = await createMiniService({
  service: "web",
  tags: [
    { tag: "v1", schema: 1 },
    { tag: "v2", schema: 2 },
    { tag: "v3", schema: 3, unhealthy: true },
  ],
  environments: { production: { hosts: HOSTS, extra: gate }, plain: { hosts: HOSTS, extra: gate } },
  ssh: { port: sshd.port, user: sshd.user, privateKey: sshd.userKeyPath, hostKey: sshd.hostPublicKeyLine },
  hostExtra: {
    production: (_h, i) => `proxy: { admin: "ADMIN${i}", ports: [${ports[i]![0]}, ${ports[i]![1]}] }`,
  },
});
const proxies: Haproxy[] = [];
let load: ChildProcess | undefined;
const outcomes: {
  setup: Setup;
  phase: Phase;
  from: number;
  to: number;
  quietFrom: number;
  allowed: ReadonlySet<string>;
  before: string;
  after: string;
}[] = [];
const answers: Record<Setup, Answer[]> = { proxy: [], plain: [] };
const loadBefore = loadavg();

try {
  // Each production host's HAProxy listens on the port the mini service gives the host.
  for (const [i, h] of svc.environments.production!.hosts.entries())
    proxies.push(await startHaproxy({ frontPort: h.port, ports: ports[i]!, backend: "web" }));
  let text = readFileSync(svc.configFile, "utf8");
  for (const [i, p] of proxies.entries()) text = text.replace(`ADMIN${i}`, p.admin);
  // The environment-wide proxy settings, production's only (its gate line comes first; each host
  // names its own admin address and ports).
  text = text.replace(
    gate,
    `${gate}\n    proxy: { haproxy: { admin: "${proxies[0]!.admin}", backend: web }, ports: [${ports[0]!.join(", ")}], drain: ${DRAIN} }`,
  );
  const config = parseConfig(text, { file: svc.configFile });
  const deps = {
    releases: new ReleaseStore(db.db.sql),
    runs: new RunStore(db.db.sql),
    executor: createExecutor(),
  };
  for (const environment of ["production", "plain"]) {
    const first = await runDeploy(deps, { config, environment, tag: "v1", actor: ci });
    if (first.status !== "succeeded") throw new Error(first.message);
  }

  load = fork(new URL("./open-loop-load.ts", import.meta.url), [SERVE], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const send = (m: LoadCommand) => load!.send(m);
  const stopLoad = () =>
    new Promise<Answer[]>((resolve) => {
      load!.once("message", (m: { answers: Answer[] }) => resolve(m.answers));
      send({ type: "stop" });
    });
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const longest = new Map<string, number>();

  const segment = async (setup: Setup, rounds: number) => {
    const environment = setup === "proxy" ? "production" : "plain";
    const targets = svc.environments[environment]!.hosts.map((h) => h.port);
    send({ type: "start", targets, rate: RATE });
    let quietFrom = now();
    let live = "v1";
    const step = async (
      phase: Phase,
      run: () => Promise<RunOutcome>,
      expect: RunOutcome["status"],
      after: string,
    ) => {
      // The quiet window holds the baseline: at least as long as the run is expected to be (the
      // longest of its phase so far, here or in the other setup; else of any run; else 8 s).
      const expected =
        longest.get(`${setup} ${phase}`) ??
        longest.get(`${setup === "proxy" ? "plain" : "proxy"} ${phase}`) ??
        (longest.size ? Math.max(...longest.values()) : 8000);
      await sleep(Math.max(QUIET_MS, 1.3 * expected));
      const from = now();
      const outcome = await run();
      const to = now();
      if (outcome.status !== expect)
        throw new Error(`${setup} ${phase}: ${outcome.status}, expected ${expect}: ${outcome.message}`);
      longest.set(`${setup} ${phase}`, Math.max(longest.get(`${setup} ${phase}`) ?? 0, to - from));
      outcomes.push({
        setup,
        phase,
        from,
        to,
        quietFrom,
        allowed: new Set([live, after]),
        before: live,
        after,
      });
      process.stderr.write(`${setup} ${phase}: ${(to - from).toFixed(0)} ms (${outcome.message})\n`);
      live = after;
      quietFrom = to;
    };
    for (let round = 1; round <= rounds; round++) {
      await step(
        "deploy v1 → v2",
        () => runDeploy(deps, { config, environment, tag: "v2", actor: ci }),
        "succeeded",
        "v2",
      );
      await step(
        "automatic rollback (v3)",
        () => runDeploy(deps, { config, environment, tag: "v3", actor: ci }),
        "rolled_back",
        "v2",
      );
      await step(
        "manual rollback → v1",
        () => runRollback(deps, { config, environment, toTag: "v1", actor: ci }),
        "succeeded",
        "v1",
      );
    }
    await sleep(500);
    answers[setup] = await stopLoad();
  };
  await segment("proxy", ROUNDS);
  await segment("plain", 1);
} finally {
  load?.kill();
  await svc.stop();
  for (const p of proxies) await p.stop();
  await db.drop();
  await sshd.stop();
}

const failedAnswer = (a: Answer, allowed: ReadonlySet<string>) => a[2] !== 200 || !allowed.has(a[3]);
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

interface Tally {
  sent: number;
  failed: number;
  latencies: number[];
  reasons: Map<string, number>;
}
const tally = (): Tally => ({ sent: 0, failed: 0, latencies: [], reasons: new Map() });
const count = (t: Tally, a: Answer, allowed: ReadonlySet<string>) => {
  t.sent++;
  t.latencies.push(a[1]);
  if (!failedAnswer(a, allowed)) return;
  t.failed++;
  const why = a[2] === 0 ? a[3] : a[2] === 200 ? `answered ${a[3]}` : `HTTP ${a[2]}`;
  t.reasons.set(why, (t.reasons.get(why) ?? 0) + 1);
};

/** Every request of a setup: during a run, in the baseline window before it, or elsewhere. */
function classify(setup: Setup) {
  const runs = outcomes.filter((o) => o.setup === setup);
  const during = new Map<Phase, Tally>(PHASES.map((p) => [p, tally()]));
  const baseline = new Map<Phase, Tally>(PHASES.map((p) => [p, tally()]));
  const other = tally();
  let runMs = 0;
  let baselineMs = 0;
  for (const r of runs) {
    runMs += r.to - r.from;
    baselineMs += Math.min(r.to - r.from, r.from - r.quietFrom);
  }
  for (const a of answers[setup]) {
    const at = a[0];
    const r = runs.find((x) => at < x.to);
    if (r && at >= r.from) count(during.get(r.phase)!, a, r.allowed);
    else if (r && at >= r.from - (r.to - r.from)) count(baseline.get(r.phase)!, a, new Set([r.before]));
    else count(other, a, new Set([r ? r.before : (runs.at(-1)?.after ?? "v1")]));
  }
  return { during, baseline, other, runMs, baselineMs, runs };
}

const ms = (x: number) => (Number.isNaN(x) ? "-" : x.toFixed(1));
const ratio = (a: number, b: number) =>
  Number.isNaN(a) || Number.isNaN(b) || b === 0 ? "-" : (a / b).toFixed(2);
const merge = (ts: Tally[]): Tally => {
  const t = tally();
  for (const x of ts) {
    t.sent += x.sent;
    t.failed += x.failed;
    t.latencies.push(...x.latencies);
    for (const [k, v] of x.reasons) t.reasons.set(k, (t.reasons.get(k) ?? 0) + v);
  }
  return t;
};
const header = `  ${"".padEnd(26)}${["sent", "failed", "p50 base", "p50 run", "×", "p99 base", "p99 run", "×", "run s"].map((c) => c.padStart(9)).join("")}`;
const line = (label: string, d: Tally, b: Tally, seconds: number) => {
  const [b50, d50, b99, d99] = [
    pct(b.latencies, 50),
    pct(d.latencies, 50),
    pct(b.latencies, 99),
    pct(d.latencies, 99),
  ];
  const cells = [
    String(d.sent),
    String(d.failed),
    ms(b50),
    ms(d50),
    ratio(d50, b50),
    ms(b99),
    ms(d99),
    ratio(d99, b99),
    seconds.toFixed(1),
  ];
  const why = [...d.reasons].map(([k, v]) => `${v} ${k}`).join(", ");
  return `  ${label.padEnd(26)}${cells.map((c) => c.padStart(9)).join("")}${why ? `   (${why})` : ""}`;
};

console.log(
  `Requests while relctl switches the service, ${HOSTS} sshd hosts on this machine, ${RATE} req/s open-loop over them; latency in ms from each request's scheduled time; run: while the run ran (check to close); base: the same load in a window of the run's length right before it`,
);
for (const setup of ["proxy", "plain"] as const) {
  const c = classify(setup);
  const rounds = setup === "proxy" ? ROUNDS : 1;
  console.log(
    setup === "proxy"
      ? `\nbehind HAProxy (proxy:, blue/green, drain ${DRAIN}), ${rounds} round${rounds > 1 ? "s" : ""}:`
      : "\nwithout a proxy (in-place restart, requests straight to the service's port), 1 round:",
  );
  console.log(header);
  for (const p of PHASES) {
    const seconds = c.runs.filter((r) => r.phase === p).reduce((s, r) => s + (r.to - r.from), 0) / 1000;
    console.log(line(p, c.during.get(p)!, c.baseline.get(p)!, seconds));
  }
  const all = merge([...c.during.values()]);
  const base = merge([...c.baseline.values()]);
  console.log(line("all runs", all, base, c.runMs / 1000));
  const sent = all.sent + base.sent + c.other.sent;
  console.log(
    `  ${sent} requests in all (${all.sent} during the runs); baseline windows ${(c.baselineMs / 1000).toFixed(1)} s for ${(c.runMs / 1000).toFixed(1)} s of runs, ${base.failed} failed in them, ${c.other.failed} failed between the windows`,
  );
}
const loadAfter = loadavg();
console.log(
  `\nload average (1 min) at the start ${loadBefore[0]!.toFixed(1)}, at the end ${loadAfter[0]!.toFixed(1)}, on ${cpus().length} CPUs`,
);
