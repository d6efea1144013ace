// Benchmark (not a test): how long the built CLI takes to start, against a bare `node -e 0`.
// Each round runs `node -e 0`, `relctl --version` and `relctl --help` one after the other
// (interleaved, so a busy machine slows all of them alike), then prints per command the median
// wall time, its ratio to `node -e 0` and the peak RSS.
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
}

const CASES: readonly Case[] = [
  { label: "node -e 0", args: ["-e", "0"] },
  { label: "relctl --version", args: [RELCTL, "--version"] },
  { label: "relctl --help", args: [RELCTL, "--help"] },
];

// Telemetry export changes what starts; the figures are for the default, export-off start.
const env: NodeJS.ProcessEnv = { ...process.env };
for (const key of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTLP_HOST", "OTLP_PORT", "NODE_OPTIONS"]) delete env[key];

const tmp = mkdtempSync(join(tmpdir(), "relctl-startup-"));
const rssFile = join(tmp, "rss");

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
  const r = spawnSync(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
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
rmSync(tmp, { recursive: true, force: true });

const base = median(samples.get(CASES[0]!.label)!.ms);
console.log(
  `startup, ${ROUNDS} interleaved rounds, node ${process.version}, peak RSS by ${gnuTime ? "GNU time %M" : "process.resourceUsage().maxRSS"}`,
);
console.log(
  `${"command".padEnd(18)} ${"median".padStart(9)} ${"min".padStart(9)} ${"max".padStart(9)} ${"ratio".padStart(7)} ${"peak RSS (median)".padStart(18)}`,
);
for (const c of CASES) {
  const s = samples.get(c.label)!;
  const m = median(s.ms);
  console.log(
    `${c.label.padEnd(18)} ${`${m.toFixed(1)} ms`.padStart(9)} ${`${Math.min(...s.ms).toFixed(1)} ms`.padStart(9)} ${`${Math.max(...s.ms).toFixed(1)} ms`.padStart(9)} ${`${(m / base).toFixed(2)}x`.padStart(7)} ${`${(median(s.rss) / 1024).toFixed(1)} MiB`.padStart(18)}`,
  );
}
console.log("goal: relctl --version at most 2.00x node -e 0");
