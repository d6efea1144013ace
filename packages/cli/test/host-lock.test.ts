import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  createMiniService,
  createPostgresTestDatabase,
  type MiniService,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, spawnCli } from "./run-cli.js";

/**
 * Two relctl installations, each with a database of its own (two laptops on the embedded
 * default), deploy the same hosts: the hosts' own lock lets only one change them at a time.
 */
let svc: MiniService;
let a: TestDatabase;
let b: TestDatabase;

beforeAll(async () => {
  [a, b] = await Promise.all([
    createPostgresTestDatabase("relctl_hostlock_a"),
    createPostgresTestDatabase("relctl_hostlock_b"),
  ]);
  svc = await createMiniService({
    service: "shared",
    tags: [
      { tag: "v1", schema: 1 },
      { tag: "v2", schema: 2, migrateSleep: `3.${String(process.pid).slice(-5)}7` },
    ],
    environments: { production: { hosts: 2, extra: "    gate: { approvals: false }" } },
  });
}, 60_000);
afterAll(async () => {
  await svc?.stop();
  await Promise.all([a?.drop(), b?.drop()]);
});

const envOf = (db: TestDatabase, user: string) => ({
  DATABASE_URL: db.url!,
  RELCTL_CONFIG: svc.configFile,
  RELCTL_USER: user,
});

it("refuses a second installation while the first changes the hosts, and lets it in once the lock is free", async () => {
  const first = await runCli(["deploy", "shared", "v1", "--env", "production"], envOf(a, "alice"), svc.dir);
  expect(first.code, first.stderr).toBe(0);
  const slow = spawnCli(
    ["deploy", "shared", "v2", "--env", "production", "--json"],
    envOf(a, "alice"),
    svc.dir,
  );
  const lockDir = join(svc.environments.production!.hosts[0]!.path, ".relctl", "lock");
  for (let i = 0; i < 200 && !existsSync(join(lockDir, "holder")); i++)
    await new Promise((r) => setTimeout(r, 25));
  // Bob's relctl has its own database: its deploy lock is free, the hosts' is not.
  const other = await runCli(
    ["deploy", "shared", "v1", "--env", "production", "--json"],
    envOf(b, "bob"),
    svc.dir,
  );
  expect(other.code).toBe(3);
  expect(other.json()).toMatchObject({ error: { code: "host_locked" } });
  expect(other.stderr).toMatch(/production-1: locked by another relctl: alice \(deploy v2\), run \d+/);
  const done = await slow.done;
  expect(done.code, done.stderr).toBe(0);
  expect(await svc.liveVersions("production")).toEqual(["v2", "v2"]);
  expect(svc.schemaOf("production")).toBe(2);
  expect(existsSync(lockDir)).toBe(false);
  // Free again: Bob's installation may deploy now.
  const after = await runCli(["deploy", "shared", "v1", "--env", "production"], envOf(b, "bob"), svc.dir);
  expect(after.code, after.stderr).toBe(0);
  expect(await svc.liveVersions("production")).toEqual(["v1", "v1"]);
}, 90_000);
