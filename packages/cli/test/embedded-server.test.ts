import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopEmbeddedServer } from "@relctl/core";
import { createMiniService, type MiniService } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, spawnCli } from "./run-cli.js";

/**
 * The embedded store's own server: started by the first command, shared by all, kept for a while,
 * and replaced when it dies under a command in progress.
 */
let svc: MiniService;
let stateDir: string;
const marker = `4.${String(process.pid).slice(-5)}3`;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "relctl-embedded-server-"));
  svc = await createMiniService({
    service: "solo",
    tags: [
      { tag: "v1", schema: 1 },
      { tag: "v2", schema: 2, migrateSleep: marker },
    ],
    environments: { production: { hosts: 1, extra: "    gate: { approvals: false }" } },
  });
}, 60_000);
afterAll(async () => {
  await stopEmbeddedServer(join(stateDir, "db"));
  await svc?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  RELCTL_CONFIG: svc.configFile,
  RELCTL_STATE_DIR: stateDir,
  RELCTL_USER: "alice",
  ...extra,
});
const info = () => JSON.parse(readFileSync(join(stateDir, "embedded-db.json"), "utf8")) as { pid: number };
const servedLines = () =>
  readFileSync(join(stateDir, "embedded-db.log"), "utf8")
    .split("\n")
    .filter((l) => / serving /.test(l));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};

it("starts one server for commands that open a new state folder at once, and keeps it for the next", async () => {
  const results = await Promise.all([0, 1, 2, 3].map(() => runCli(["releases", "--json"], env(), svc.dir)));
  for (const r of results) expect(r.code, r.stderr).toBe(0);
  expect(servedLines()).toHaveLength(1);
  const { pid } = info();
  expect(alive(pid)).toBe(true);
  const again = await runCli(["releases", "--json"], env(), svc.dir);
  expect(again.code, again.stderr).toBe(0);
  expect(info().pid).toBe(pid);
  expect(servedLines()).toHaveLength(1);
}, 90_000);

it("finishes a deploy whose embedded server is killed under it", async () => {
  const first = await runCli(["deploy", "solo", "v1", "--env", "production"], env(), svc.dir);
  expect(first.code, first.stderr).toBe(0);
  const deploy = spawnCli(["deploy", "solo", "v2", "--env", "production", "--json"], env(), svc.dir);
  // Wait for the slow migration to run on the host, then kill the server the command talks to.
  let migrating = false;
  for (let i = 0; i < 400 && !migrating; i++) {
    migrating = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(`sleep ${marker}`);
    if (!migrating) await new Promise((r) => setTimeout(r, 25));
  }
  expect(migrating).toBe(true);
  const { pid } = info();
  process.kill(pid, "SIGKILL");
  const done = await deploy.done;
  expect(done.code, done.stderr).toBe(0);
  expect(done.json()).toMatchObject({ status: "succeeded" });
  expect(await svc.liveVersions("production")).toEqual(["v2"]);
  expect(svc.schemaOf("production")).toBe(2);
  // A new server took over and holds what the deploy wrote.
  expect(info().pid).not.toBe(pid);
  expect(servedLines().length).toBeGreaterThanOrEqual(2);
  const versions = await runCli(["versions", "solo", "--env", "production", "--json"], env(), svc.dir);
  expect(versions.code, versions.stderr).toBe(0);
  expect(JSON.stringify(versions.json())).toMatch(/"v2"/);
  const lock = await runCli(["lock", "status", "--json"], env(), svc.dir);
  expect(lock.code, lock.stderr).toBe(0);
  expect(JSON.stringify(lock.json())).not.toContain('"solo"');
}, 120_000);

it("stops the server once no client has used it for RELCTL_EMBEDDED_IDLE seconds", async () => {
  const dir = mkdtempSync(join(tmpdir(), "relctl-embedded-idle-"));
  try {
    const r = await runCli(["releases"], { RELCTL_STATE_DIR: dir, RELCTL_EMBEDDED_IDLE: "1" }, svc.dir);
    expect(r.code, r.stderr).toBe(0);
    const { pid } = JSON.parse(readFileSync(join(dir, "embedded-db.json"), "utf8")) as { pid: number };
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir, "embedded-db.json"))).toBe(false);
    expect(existsSync(join(dir, "embedded-db.lock"))).toBe(false);
    // The state is kept: the next command starts a server on the same folder.
    const next = await runCli(["releases"], { RELCTL_STATE_DIR: dir, RELCTL_EMBEDDED_IDLE: "1" }, svc.dir);
    expect(next.code, next.stderr).toBe(0);
  } finally {
    await stopEmbeddedServer(join(dir, "db"));
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

it("refuses a bad RELCTL_EMBEDDED_IDLE in one line, naming it", async () => {
  const r = await runCli(["releases"], env({ RELCTL_EMBEDDED_IDLE: "soon" }), svc.dir);
  expect(r.code).not.toBe(0);
  expect(r.stderr.trim().split("\n")[0]).toMatch(/RELCTL_EMBEDDED_IDLE: expected seconds from 0 to 86400/);
});
