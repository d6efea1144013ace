// Benchmark (not a test): `relctl rollback` against a hand-written rollback script doing the same
// work the way teams do today — one `ssh` per command: migrate down (with the newer release's
// code), re-point the `current` symlink at the kept release, restart, curl /health until it
// answers — on the same sshd host, the same service and database, both with both releases built
// and kept side by side (like for like: neither rebuilds). Runs alternate A (the `relctl rollback`
// command, a new process), B (the script) and C (the same rollback use-case in a process that is
// already running, as `relctl serve`'s deploy worker runs the Telegram button's rollback) in one
// run, and print each round's ratios to B, then the medians. Each round also times A0: the same
// command once more, now refused after its database checks (the tag is live already, exit 3, no
// login on the host): what the command costs before it contacts a host (Node, the CLI, relctl.yml and the
// database), the part of A that C does not pay.
//
//   pnpm bench:rollback [rounds]     (BENCH_PROFILE_DIR=d: a CPU profile of each relctl run in d;
//                                    BENCH_DETAIL=1: each run's steps as JSON lines on stderr)
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  RunStore,
  runDeploy,
  runRollback,
} from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import { ADMIN_URL, createPostgresTestDatabase, freePort, startSshd } from "@relctl/testkit";
import postgres from "postgres";

const ROUNDS = Number(process.argv[2] ?? "3");
const RELCTL = resolve(import.meta.dirname, "../bin/run.js");
const ci: Actor = { user: "bench", channel: "cli" };

const tmp = mkdtempSync(join(tmpdir(), "relctl-bench-"));
const sshd = await startSshd();
const relctlDb = await createPostgresTestDatabase("relctl_bench");
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
const dbName = `hello_bench_${process.pid}`;
await admin.unsafe(`CREATE DATABASE ${dbName}`);
const dbUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
await createHelloRepo({ dir: join(tmp, "repo") });
const [relctlPort, scriptPort] = [await freePort(), await freePort()];
const hostPath = join(tmp, "host");
const scriptPath = join(tmp, "script-host");

const configText = `service: hello
repository: ${join(tmp, "repo", "hello.git")}
environments:
  live:
    gate: { approvals: false } # the benchmark times the runbooks, not the approvals
    hosts:
      - { address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, private_key: ${sshd.userKeyPath}, host_key: "${sshd.hostKeyFingerprint}" }
    path: ${hostPath}
    env: { PORT: "${relctlPort}", DATABASE_URL: "${dbUrl}" }
    commands:
      build: npm ci --prefer-offline --no-audit --no-fund
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
    health: { url: "http://127.0.0.1:${relctlPort}/health", attempts: 5, interval: 2s, timeout: 3s, from: host }
`;
const configFile = join(tmp, "relctl.yml");
writeFileSync(configFile, configText);
const env = {
  ...process.env,
  DATABASE_URL: relctlDb.url!,
  RELCTL_CONFIG: configFile,
  RELCTL_USER: "bench",
  CI: "1",
};
const deps = {
  releases: new ReleaseStore(relctlDb.db.sql),
  runs: new RunStore(relctlDb.db.sql),
  executor: createExecutor(),
};

// The hand-written way: one checkout on the host, one ssh per command.
const knownHosts = join(tmp, "known_hosts");
writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`);
const sshOpts = [
  "-i",
  sshd.userKeyPath,
  "-p",
  String(sshd.port),
  "-o",
  `UserKnownHostsFile=${knownHosts}`,
  "-o",
  "BatchMode=yes",
];
const script = `#!/bin/sh
# rollback.sh TAG SCHEMA FROM_TAG — what a team's hand-written rollback looks like
set -e
H=${sshd.user}@127.0.0.1
ROOT=${scriptPath}
E="PORT=${scriptPort} DATABASE_URL=${dbUrl} RELCTL_PATH=${scriptPath}"
ssh ${sshOpts.join(" ")} $H "cd $ROOT/releases/$3 && env $E node migrate.mjs down $2"
ssh ${sshOpts.join(" ")} $H "cd $ROOT && ln -sfn releases/$1 current.next && mv -Tf current.next current"
ssh ${sshOpts.join(" ")} $H "cd $ROOT/current && env $E sh bin/restart.sh"
for i in 1 2 3 4 5; do
  if ssh ${sshOpts.join(" ")} $H "curl -fsS --max-time 3 http://127.0.0.1:${scriptPort}/health" >/dev/null; then exit 0; fi
  sleep 2
done
exit 1
`;
writeFileSync(join(tmp, "rollback.sh"), script);

/** The script's host: both releases checked out and built once, the way relctl keeps them. */
function buildScriptReleases(tags: readonly string[]) {
  for (const tag of tags) {
    const dir = join(scriptPath, "releases", tag);
    execFileSync("git", ["clone", "-q", "--branch", tag, join(tmp, "repo", "hello.git"), dir], {
      stdio: "ignore",
    });
    execFileSync("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir, stdio: "ignore" });
  }
}

/** Puts the script's host on `tag`: current → releases/<tag>, its schema, its process. */
function setUpScriptHost(tag: string) {
  const e = { ...process.env, PORT: String(scriptPort), DATABASE_URL: dbUrl, RELCTL_PATH: scriptPath };
  execFileSync("ln", ["-sfn", `releases/${tag}`, join(scriptPath, "current")]);
  const app = join(scriptPath, "current");
  execFileSync("node", ["migrate.mjs", "up"], { cwd: app, env: e, stdio: "ignore" });
  execFileSync("sh", ["bin/restart.sh"], { cwd: app, env: e });
}

function timed(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** GET /health on a fresh connection (the service restarts between rounds). */
function health(port: number): Promise<{ version: string; schema: number }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(JSON.parse(body)));
    }).on("error", reject);
  });
}

const results: {
  relctl: number[];
  script: number[];
  worker: number[];
  refused: number[];
  relctlHandshakes: number[];
  scriptHandshakes: number[];
} = {
  refused: [],
  relctl: [],
  script: [],
  worker: [],
  relctlHandshakes: [],
  scriptHandshakes: [],
};

try {
  const config = parseConfig(configText, { file: configFile, env });
  await runDeploy(deps, { config, environment: "live", tag: "v1.0.0", actor: ci });
  buildScriptReleases(["v1.0.0", "v1.1.0"]);
  for (let round = 1; round <= ROUNDS; round++) {
    // Both start from v1.1.0 (schema 2) and go back to v1.0.0 (schema 1).
    const up = await runDeploy(deps, { config, environment: "live", tag: "v1.1.0", actor: ci });
    if (up.status !== "succeeded") throw new Error(up.message);
    let auths = sshd.authsAccepted();
    const t0 = Date.now();
    const relctlMs = timed(() => {
      const r = spawnSync(
        process.execPath,
        [
          ...(process.env.BENCH_PROFILE_DIR
            ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
            : []),
          RELCTL,
          "rollback",
          "hello",
          "--to",
          "v1.0.0",
          "--env",
          "live",
          "--yes",
          ...(process.env.BENCH_DETAIL ? ["--json"] : []),
        ],
        { env, encoding: "utf8" },
      );
      if (r.status !== 0) throw new Error(`relctl rollback failed: ${r.stderr}`);
      if (process.env.BENCH_DETAIL) process.stderr.write(`${t0}\n${r.stderr}`);
    });
    results.relctlHandshakes.push(sshd.authsAccepted() - auths);
    const afterRelctl = await health(relctlPort);
    if (afterRelctl.version !== "1.0.0" || afterRelctl.schema !== 1)
      throw new Error(`relctl left ${JSON.stringify(afterRelctl)}`);
    results.relctl.push(relctlMs);
    // A0: the same command, refused now that v1.0.0 is live, before any login.
    auths = sshd.authsAccepted();
    const refusedMs = timed(() => {
      const r = spawnSync(
        process.execPath,
        [RELCTL, "rollback", "hello", "--to", "v1.0.0", "--env", "live", "--yes"],
        { env, encoding: "utf8" },
      );
      if (r.status !== 3) throw new Error(`the repeated rollback was not refused: ${r.status} ${r.stderr}`);
    });
    if (sshd.authsAccepted() !== auths) throw new Error("the refused rollback logged in to the host");
    results.refused.push(refusedMs);

    // Same database and starting point for the script: v1.1.0, schema 2.
    setUpScriptHost("v1.1.0");
    auths = sshd.authsAccepted();
    const scriptMs = timed(() => {
      const r = spawnSync("sh", [join(tmp, "rollback.sh"), "v1.0.0", "1", "v1.1.0"], { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`script failed: ${r.stderr}`);
    });
    results.scriptHandshakes.push(sshd.authsAccepted() - auths);
    const afterScript = await health(scriptPort);
    if (afterScript.version !== "1.0.0" || afterScript.schema !== 1)
      throw new Error(`script left ${JSON.stringify(afterScript)}`);
    results.script.push(scriptMs);

    // C: the use-case in this (already running) process, from the same starting point.
    const again = await runDeploy(deps, { config, environment: "live", tag: "v1.1.0", actor: ci });
    if (again.status !== "succeeded") throw new Error(again.message);
    const c0 = process.hrtime.bigint();
    const back = await runRollback(deps, { config, environment: "live", toTag: "v1.0.0", actor: ci });
    const workerMs = Number(process.hrtime.bigint() - c0) / 1e6;
    if (back.status !== "succeeded") throw new Error(back.message);
    const afterWorker = await health(relctlPort);
    if (afterWorker.version !== "1.0.0" || afterWorker.schema !== 1)
      throw new Error(`the use-case left ${JSON.stringify(afterWorker)}`);
    results.worker.push(workerMs);
    // The next round's deploy puts v1.1.0's schema back (the script moved the shared DB).
    console.log(
      `round ${round}: A relctl ${relctlMs.toFixed(0)} ms (A0 refused ${refusedMs.toFixed(0)} ms), B script ${scriptMs.toFixed(0)} ms, C running process ${workerMs.toFixed(0)} ms; A / B ${(relctlMs / scriptMs).toFixed(2)}, C / B ${(workerMs / scriptMs).toFixed(2)}`,
    );
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rel = median(results.relctl);
  const scr = median(results.script);
  console.log(
    `rollback v1.1.0 → v1.0.0 (schema 2 → 1) on one sshd host, ${ROUNDS} rounds, median wall time:`,
  );
  console.log(
    `  relctl rollback          ${rel.toFixed(0).padStart(6)} ms   SSH handshakes: ${results.relctlHandshakes.join(", ")}`,
  );
  console.log(
    `  hand-written ssh script  ${scr.toFixed(0).padStart(6)} ms   SSH handshakes: ${results.scriptHandshakes.join(", ")}`,
  );
  console.log(
    `  A0: the same, refused    ${median(results.refused).toFixed(0).padStart(6)} ms   (Node, the CLI, relctl.yml and the database checks; no login)`,
  );
  const wrk = median(results.worker);
  console.log(`  running process (C)      ${wrk.toFixed(0).padStart(6)} ms   SSH handshakes: 1 each`);
  const ratios = results.relctl.map((a, i) => a / results.script[i]!);
  const workerRatios = results.worker.map((c, i) => c / results.script[i]!);
  console.log(
    `  relctl / script          ${(rel / scr).toFixed(2)}   (pairs: ${ratios.map((r) => r.toFixed(2)).join(", ")}; median pair ${median(ratios).toFixed(2)}; target ≤ 0.50)`,
  );
  console.log(
    `  running process / script ${(wrk / scr).toFixed(2)}   (pairs: ${workerRatios.map((r) => r.toFixed(2)).join(", ")}; median pair ${median(workerRatios).toFixed(2)}; target ≤ 0.50)`,
  );
} finally {
  for (const path of [hostPath, scriptPath])
    spawnSync("sh", ["-c", `kill $(cat ${path}/hello.pid) 2>/dev/null`]);
  await sshd.stop();
  await relctlDb.drop();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(tmp, { recursive: true, force: true });
}
