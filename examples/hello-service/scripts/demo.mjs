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
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
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

function stopService(envDir) {
  const pidfile = join(envDir, "hello.pid");
  if (!existsSync(pidfile)) return;
  try {
    process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
  } catch {
    // already gone
  }
}

async function main() {
  for (const env of ["stage", "production"]) stopService(join(root, env));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });

  step("The service: a git repository with tags v1.0.0, v1.1.0, v1.2.0");
  const { bareDir, tags } = await createHelloRepo({ dir: root });
  process.stderr.write(`${bareDir}: ${tags.join(", ")}\n`);
  copyFileSync(resolve(here, "../relctl.yml"), join(root, "relctl.yml"));

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
    await relctl(["deploy", "hello", tag, "--env", "production"], { env });
    process.stderr.write(`production /health: ${await health(18181)}\n`);
  }

  step("v1.2.0: passes stage, fails in production, rolls back by itself (migration included)");
  await relctl(["release", "hello", "v1.2.0"], { env });
  await approveAll(await releaseId("v1.2.0", env));
  await relctl(["deploy", "hello", "v1.2.0", "--env", "production"], { env, expectCode: 4 });
  process.stderr.write(`production /health: ${await health(18181)}\n`);

  step("One-command rollback of production to a chosen version: v1.0.0");
  await relctl(["versions", "hello", "--env", "production"], { env });
  await relctl(["rollback", "hello", "--to", "v1.0.0", "--env", "production", "--yes"], { env });
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
