#!/usr/bin/env node
// A full release of hello-service with relctl, on this machine, with nothing but Node and npm:
// stage and production are folders, every database is an embedded PostgreSQL.
//
//   node examples/hello-service/scripts/demo.mjs        (what `pnpm demo` runs, after the build)
//
// v1.0.0 and v1.1.0 go through stage, the rollback rehearsal, three approvals and production;
// v1.2.0 passes stage but fails its production health check and is rolled back automatically,
// migration included; then production is rolled back by hand to v1.0.0. Each step is a plain
// relctl command, printed before it runs.
//
// Where haproxy is installed (Debian: apt-get install haproxy), production's two hosts are each
// behind their own HAProxy: blue/green with prod-1 as the canary, and requests keep going
// through the proxies during every production deploy and rollback (the demo counts them).
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createHelloRepo } from "./create-repo.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const RELCTL = resolve(here, "../../../packages/cli/bin/run.js");
const root = resolve(process.env.RELCTL_DEMO_DIR ?? ".relctl/demo");
const started = Date.now();
const background = [];

function step(text) {
  process.stderr.write(`\n\x1b[1m${text}\x1b[0m\n`);
}

/** Runs relctl like a user at a terminal would; returns its parsed --json output when asked. */
function relctl(args, { env, expectCode = 0, json = false, quiet = false } = {}) {
  if (!quiet) process.stderr.write(`$ relctl ${args.join(" ")}\n`);
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RELCTL, ...args, ...(json ? ["--json"] : [])], {
      env: { ...process.env, ...env },
      stdio: ["ignore", json ? "pipe" : "inherit", "inherit"],
    });
    let out = "";
    child.stdout?.on("data", (d) => {
      out += d;
    });
    child.on("close", (code) => {
      if (code !== expectCode)
        return fail(new Error(`relctl ${args.join(" ")} exited ${code}, expected ${expectCode}`));
      done(json ? JSON.parse(out) : undefined);
    });
  });
}

/** Starts a long-running relctl (db serve) and resolves with the first line it prints. */
function serve(args, env) {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [RELCTL, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    background.push(child);
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) done(line.trim());
    });
    child.on("exit", (code) => fail(new Error(`relctl ${args.join(" ")} exited ${code}`)));
  });
}

async function releaseId(tag, env) {
  const { releases } = await relctl(["status", "hello"], { env, json: true, quiet: true });
  return releases.find((r) => r.release_tag === tag).id;
}

async function health(port) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    return `${res.status} ${await res.text()}`;
  } catch (err) {
    return `unreachable (${err.message})`;
  }
}

/** Stops every hello-service process under a folder: in place (hello.pid) or on a slot. */
function stopService(envDir) {
  const pidfiles = [join(envDir, "hello.pid")];
  if (existsSync(envDir))
    for (const host of readdirSync(envDir)) {
      const slots = join(envDir, host, ".relctl", "slots");
      if (existsSync(slots))
        for (const f of readdirSync(slots)) if (f.endsWith(".pid")) pidfiles.push(join(slots, f));
    }
  for (const pidfile of pidfiles) {
    if (!existsSync(pidfile)) continue;
    try {
      process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
    } catch {
      // already gone
    }
  }
}

function haproxyInstalled() {
  try {
    execFileSync("haproxy", ["-v"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** relctl.yml without `proxy:` and `rollout:` (production then restarts in place). */
function withoutProxy(text) {
  const out = [];
  let dropping = -1;
  for (const line of text.split("\n")) {
    const indent = line.length - line.trimStart().length;
    if (dropping >= 0 && (line.trim() === "" || indent > dropping)) continue;
    dropping = -1;
    if (/^\s+proxy: \{/.test(line)) continue;
    if (/^ {4}(proxy|rollout):$/.test(line)) {
      dropping = indent;
      continue;
    }
    out.push(line);
  }
  return out.join("\n");
}

/** Requests through the proxies, one after another per proxy, until stopped: none may fail. */
function traffic(ports) {
  let running = true;
  let sent = 0;
  const failed = [];
  const loops = ports.map(async (port) => {
    while (running) {
      sent++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
        const body = await res.text();
        if (res.status !== 200) failed.push(`${port}: ${res.status} ${body.slice(0, 200)}`);
      } catch (err) {
        failed.push(`${port}: ${err.message}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  });
  return async () => {
    running = false;
    await Promise.all(loops);
    process.stderr.write(`${sent} requests through the proxies meanwhile, ${failed.length} failed\n`);
    if (failed.length) process.stderr.write(`  first failures: ${failed.slice(0, 3).join("; ")}\n`);
  };
}

async function main() {
  for (const env of ["stage", "production"]) stopService(join(root, env));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  step("The service: a git repository with tags v1.0.0, v1.1.0, v1.2.0");
  const { bareDir, tags } = await createHelloRepo({ dir: root });
  process.stderr.write(`${bareDir}: ${tags.join(", ")}\n`);
  const proxied = haproxyInstalled();
  const config = readFileSync(resolve(here, "../relctl.yml"), "utf8");
  writeFileSync(join(root, "relctl.yml"), proxied ? config : withoutProxy(config));
  if (proxied) {
    step("HAProxy in front of production's two hosts (blue/green; prod-1 is the canary)");
    for (const host of ["prod-1", "prod-2"]) {
      const proxy = spawn("haproxy", ["-db", "-q", "-f", resolve(here, `../haproxy/${host}.cfg`)], {
        stdio: "ignore",
      });
      background.push(proxy);
    }
    await new Promise((r) => setTimeout(r, 500));
    process.stderr.write("prod-1 on http://127.0.0.1:18181, prod-2 on http://127.0.0.1:18191\n");
  } else {
    step("haproxy is not installed: production restarts in place (apt-get install haproxy for blue/green)");
  }
  const watch = () => (proxied ? traffic([18181, 18191]) : async () => {});

  step("Embedded PostgreSQL: relctl's own state, and one database each for stage and production");
  const base = {
    RELCTL_STATE_DIR: join(root, "state"),
    RELCTL_CONFIG: join(root, "relctl.yml"),
    RELCTL_USER: "ci",
    CI: "1",
  };
  await serve(["db", "serve"], base);
  const stageDb = await serve(["db", "serve", "--data", join(root, "db-stage")], base);
  const productionDb = await serve(["db", "serve", "--data", join(root, "db-production")], base);
  const env = { ...base, HELLO_STAGE_DATABASE_URL: stageDb, HELLO_PRODUCTION_DATABASE_URL: productionDb };

  const approveAll = async (id) => {
    for (const [role, user] of [
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ]) {
      await relctl(["approve", String(id), "--role", role, "--as", user], { env });
    }
  };

  for (const tag of ["v1.0.0", "v1.1.0"]) {
    step(`${tag}: stage deploy and rollback rehearsal, approvals, production`);
    await relctl(["release", "hello", tag], { env });
    await approveAll(await releaseId(tag, env));
    // Nothing is live before the first production deploy: count requests from the second on.
    const stop = tag === "v1.0.0" ? async () => {} : watch();
    await relctl(["deploy", "hello", tag, "--env", "production"], { env });
    await stop();
    process.stderr.write(`production /health: ${await health(18181)}\n`);
  }

  step("v1.2.0: passes stage, fails in production, rolls back by itself (migration included)");
  await relctl(["release", "hello", "v1.2.0"], { env });
  await approveAll(await releaseId("v1.2.0", env));
  const stop = watch();
  await relctl(["deploy", "hello", "v1.2.0", "--env", "production"], { env, expectCode: 4 });
  await stop();
  process.stderr.write(`production /health: ${await health(18181)}\n`);

  step("One-command rollback of production to a chosen version: v1.0.0");
  await relctl(["versions", "hello", "--env", "production"], { env });
  const stopBack = watch();
  await relctl(["rollback", "hello", "--to", "v1.0.0", "--env", "production", "--yes"], { env });
  await stopBack();
  process.stderr.write(`production /health: ${await health(18181)}\n`);

  step("Where every release ended");
  await relctl(["releases", "--service", "hello"], { env });
  process.stderr.write(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)}s; state in ${root}\n`);
}

try {
  await main();
} finally {
  for (const env of ["stage", "production"]) stopService(join(root, env));
  for (const child of background) child.kill("SIGTERM");
}
