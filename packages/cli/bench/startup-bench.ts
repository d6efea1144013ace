// Benchmark (not a test): how long the built CLI takes to start, against a bare `node -e 0`.
// Each round runs `node -e 0`, `relctl --version`, `relctl --help`, and `relctl status 1` on
// PostgreSQL (this machine's, a throwaway database) and on the embedded store (its server left
// running by an earlier command, as it is between a user's commands), one after the other
// (interleaved, so a busy machine slows all of them alike), then prints per command the median
// wall time, its ratio to `node -e 0` and the peak RSS, and embedded status against PostgreSQL.
//
//   pnpm bench:startup [rounds]     (default 20, at least 15)
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROUNDS = Math.max(15, Number(process.argv[2] ?? "20") || 20);
const RELCTL = resolve(import.meta.dirname, "../bin/run.js");
const TIME = "/usr/bin/time";

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

// Telemetry export changes what starts; the figures are for the default, export-off start.
const env: NodeJS.ProcessEnv = { ...process.env };
for (const key of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP_HOST", "OTLP_PORT", "NODE_OPTIONS", "DATABASE_URL"])
  delete env[key];

const tmp = mkdtempSync(join(tmpdir(), "relctl-startup-"));
const rssFile = join(tmp, "rss");

// relctl status 1 on both stores: a release made first, by a command of its own.
const pgDatabase = `relctl_startup_${process.pid}`;
const pgAdmin = ["-h", "127.0.0.1", "-U", "postgres"];
spawnSync("createdb", [...pgAdmin, pgDatabase], { stdio: "inherit" });
const pgEnv = { ...env, DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${pgDatabase}` };
const embeddedEnv = { ...env, RELCTL_STATE_DIR: join(tmp, "state") };
for (const e of [pgEnv, embeddedEnv]) {
  const made = spawnSync(process.execPath, [RELCTL, "release", "create", "hello", "v1.0.0", "--json"], {
    env: e,
    cwd: tmp,
  });
  if (made.status !== 0) throw new Error(`release create failed: ${made.stderr}`);
}

const CASES: readonly Case[] = [
  { label: "node -e 0", args: ["-e", "0"] },
  { label: "relctl --version", args: [RELCTL, "--version"] },
  { label: "relctl --help", args: [RELCTL, "--help"] },
  { label: "status, PostgreSQL", args: [RELCTL, "status", "1", "--json"], env: pgEnv },
  { label: "status, embedded", args: [RELCTL, "status", "1", "--json"], env: embeddedEnv },
];

// Peak RSS: GNU time's %M (KiB) when it is installed; otherwise a preloaded module writes the
// process's own process.resourceUsage().maxRSS (KiB) when it exits.
const gnuTime = existsSync(TIME) && spawnSync(TIME, ["-f", "%M", "-o", rssFile, "true"]).status === 0;
const preload = join(tmp, "max-rss.cjs");
writeFileSync(
  preload,
  `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(rssFile)}, String(process.resourceUsage().maxRSS)));\n`,
);

function runOnce(c: Case): { ms: number; rssKiB: number } {
  rmSync(rssFile, { force: true });
  const [cmd, args] = gnuTime
    ? [TIME, ["-f", "%M", "-o", rssFile, process.execPath, ...c.args]]
    : [process.execPath, ["--require", preload, ...c.args]];
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env: c.env ?? env, cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0 || (c.args[0] !== "-e" && !r.stdout.toString().trim())) {
    throw new Error(`${c.label} failed (exit ${r.status}): ${r.stderr.toString().trim()}`);
  }
  const rssKiB = Number(readFileSync(rssFile, "utf8").trim().split("\n").pop());
  return { ms, rssKiB };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

for (const c of CASES) runOnce(c); // warm the file cache; not counted
const samples = new Map(CASES.map((c) => [c.label, { ms: [] as number[], rss: [] as number[] }]));
for (let round = 0; round < ROUNDS; round++) {
  for (const c of CASES) {
    const { ms, rssKiB } = runOnce(c);
    samples.get(c.label)!.ms.push(ms);
    samples.get(c.label)!.rss.push(rssKiB);
  }
}
// The embedded server stops when its state folder is removed.
spawnSync("dropdb", [...pgAdmin, "--if-exists", "--force", pgDatabase], { stdio: "inherit" });
rmSync(tmp, { recursive: true, force: true });

const base = median(samples.get(CASES[0]!.label)!.ms);
console.log(
  `startup, ${ROUNDS} interleaved rounds, node ${process.version}, peak RSS by ${gnuTime ? "GNU time %M" : "process.resourceUsage().maxRSS"}`,
);
console.log(
  `${"command".padEnd(20)} ${"median".padStart(9)} ${"min".padStart(9)} ${"max".padStart(9)} ${"ratio".padStart(7)} ${"peak RSS (median)".padStart(18)}`,
);
for (const c of CASES) {
  const s = samples.get(c.label)!;
  const m = median(s.ms);
  console.log(
    `${c.label.padEnd(20)} ${`${m.toFixed(1)} ms`.padStart(9)} ${`${Math.min(...s.ms).toFixed(1)} ms`.padStart(9)} ${`${Math.max(...s.ms).toFixed(1)} ms`.padStart(9)} ${`${(m / base).toFixed(2)}x`.padStart(7)} ${`${(median(s.rss) / 1024).toFixed(1)} MiB`.padStart(18)}`,
  );
}
const statusOn = (label: string) => median(samples.get(label)!.ms);
console.log(
  `status, embedded / status, PostgreSQL: ${(statusOn("status, embedded") / statusOn("status, PostgreSQL")).toFixed(2)}x`,
);
console.log(
  "goals: relctl --version at most 2.00x node -e 0; status on the embedded store at most 1 s and 3.00x PostgreSQL",
);
