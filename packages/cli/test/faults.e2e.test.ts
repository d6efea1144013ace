import { execFileSync } from "node:child_process";
import {
  createMiniService,
  createPostgresTestDatabase,
  describeWithSshd,
  type MiniService,
  type SshdHandle,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, spawnCli } from "./run-cli.js";

/** Faults as operators meet them, on real sshd hosts: the connection cut, relctl interrupted. */
describeWithSshd(
  "a cut or interrupted deploy leaves nothing running and a status that matches the host",
  () => {
    let sshd: SshdHandle;
    let t: TestDatabase;
    let svc: MiniService;
    let env: Record<string, string>;
    // Unique sleeps: each slow migration can be found on the host by its command line.
    const slow = (n: number) => `${4 + n}.${String(process.pid).padStart(6, "0").slice(-6)}`;

    beforeAll(async () => {
      sshd = await startSshd();
      t = await createPostgresTestDatabase("relctl_faults");
      svc = await createMiniService({
        service: "faulty",
        tags: [
          { tag: "v1", schema: 1 },
          { tag: "v2", schema: 2, migrateSleep: slow(1) },
          { tag: "v3", schema: 3, migrateSleep: slow(2) },
          { tag: "v4", schema: 4, migrateSleep: slow(3) },
          { tag: "v5", schema: 5, migrateSleep: slow(4) },
        ],
        environments: { stage: { hosts: 1 }, production: { hosts: 1 } },
        ssh: {
          port: sshd.port,
          user: sshd.user,
          privateKey: sshd.userKeyPath,
          hostKey: sshd.hostPublicKeyLine,
        },
      });
      // A holder counts as dead 2 s after its last heartbeat (the default is 30 s).
      env = {
        DATABASE_URL: t.url!,
        RELCTL_CONFIG: svc.configFile,
        RELCTL_USER: "dev",
        RELCTL_LOCK_DEAD_AFTER: "2s",
      };
    }, 60_000);
    afterAll(async () => {
      await svc?.stop();
      await t?.drop();
      await sshd?.stop();
    });

    const cli = (...args: string[]) => runCli(args, env, svc.dir);
    const running = (marker: string) => {
      try {
        return execFileSync("pgrep", ["-f", `^sleep ${marker}$`], { encoding: "utf8" }).trim().length > 0;
      } catch {
        return false;
      }
    };
    const until = async (check: () => boolean, ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
        if (check()) return true;
      return check();
    };
    async function approved(tag: string): Promise<number> {
      const r = await cli("release", "faulty", tag, "--json");
      expect(r.code, r.stderr).toBe(0);
      const id = r.json<{ release: { id: number } }>().release.id;
      for (const [role, user] of [
        ["qa", "quinn"],
        ["devops", "dora"],
        ["lead", "lee"],
      ] as const) {
        const a = await cli("approve", String(id), "--role", role, "--as", user);
        expect(a.code, a.stderr).toBe(0);
      }
      return id;
    }
    const deploy = (tag: string) =>
      spawnCli(["deploy", "faulty", tag, "--env", "production", "--json"], env, svc.dir);
    const statusOf = async (id: number) =>
      ((await t.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0] as { status: string }).status;
    const openRuns = async () =>
      Number((await t.db.sql`SELECT count(*)::int AS n FROM runs WHERE status = 'running'`)[0]!.n);
    const locks = async () => Number((await t.db.sql`SELECT count(*)::int AS n FROM deploy_locks`)[0]!.n);
    /** Nothing of the step runs on the host, production is back on v1 with its schema, no lock or run is left. */
    async function expectBackOnV1(id: number, marker: string) {
      expect(running(marker)).toBe(false);
      expect(await statusOf(id)).toBe("rollback_done");
      expect(await svc.liveVersions("production")).toEqual(["v1"]);
      // The migration would have finished by now had it gone on running on the host.
      await new Promise((r) => setTimeout(r, 5500));
      expect(svc.schemaOf("production")).toBe(1);
      expect(await openRuns()).toBe(0);
      expect(await locks()).toBe(0);
    }

    it("v1 goes to production over SSH", async () => {
      const id = await approved("v1");
      const r = await cli("deploy", "faulty", "v1", "--env", "production");
      expect(r.code, r.stderr).toBe(0);
      expect(await statusOf(id)).toBe("deployed");
      expect(svc.schemaOf("production")).toBe(1);
    }, 60_000);

    it("a connection cut mid-migration: relctl ends the migration on the host, then rolls back; it never completes later", async () => {
      const id = await approved("v2");
      const run = deploy("v2");
      expect(await until(() => running(slow(1)), 20_000)).toBe(true);
      expect(sshd.dropConnections()).toBeGreaterThan(0);
      const r = await run.done;
      expect(r.code, r.stderr).toBe(4);
      expect(r.json()).toMatchObject({ error: { code: "run_rolled_back" } });
      await expectBackOnV1(id, slow(1));
    }, 90_000);

    it("SIGTERM mid-migration: the step ends on the host, the run rolls back as planned, the lock is freed, exit 143", async () => {
      const id = await approved("v3");
      // The cut deploy's rollback holds production deploys until someone acknowledges it.
      expect((await cli("ack", "faulty", "--env", "production")).code).toBe(0);
      const run = deploy("v3");
      expect(await until(() => running(slow(2)), 20_000)).toBe(true);
      run.child.kill("SIGTERM");
      const r = await run.done;
      expect(r.code, r.stderr).toBe(143);
      expect(r.stderr).toMatch(/relctl: interrupted by SIGTERM: v3 failed on production .*rolled back to v1/);
      await expectBackOnV1(id, slow(2));
    }, 90_000);

    it("kill -9 mid-migration: status says the run was interrupted and how to go on; deploy takes over and resumes it", async () => {
      const id = await approved("v4");
      expect((await cli("ack", "faulty", "--env", "production")).code).toBe(0);
      const run = deploy("v4");
      expect(await until(() => running(slow(3)), 20_000)).toBe(true);
      run.child.kill("SIGKILL");
      await run.done;
      await new Promise((r) => setTimeout(r, 2500));
      const status = await cli("status", String(id), "--json");
      expect(status.json()).toMatchObject({
        release: { status: "deploying" },
        run: { state: "interrupted", kind: "deploy", tag: "v4" },
      });
      expect(status.json<{ run: { line: string } }>().run.line).toContain(
        "resume it: relctl deploy faulty v4 --env production",
      );
      const resumed = await cli("deploy", "faulty", "v4", "--env", "production", "--json");
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.json()).toMatchObject({ status: "succeeded", release: { status: "deployed" } });
      expect(running(slow(3))).toBe(false);
      expect(await svc.liveVersions("production")).toEqual(["v4"]);
      expect(svc.schemaOf("production")).toBe(4);
      const [killed] = await t.db
        .sql`SELECT status, error FROM runs WHERE release_id = ${id} AND environment = 'production' ORDER BY id LIMIT 1`;
      expect(killed).toMatchObject({ status: "interrupted" });
      expect(await openRuns()).toBe(0);
      expect(await locks()).toBe(0);
    }, 120_000);

    it("kill -9 mid-migration, then relctl abort: the step is ended, v4 and its schema are put back", async () => {
      const id = await approved("v5");
      const run = deploy("v5");
      expect(await until(() => running(slow(4)), 20_000)).toBe(true);
      run.child.kill("SIGKILL");
      await run.done;
      // At once: abort waits for the killed holder to be seen dead, then rolls its run back.
      const aborted = await cli("abort", "faulty", "--env", "production", "--json");
      expect(aborted.code, aborted.stderr).toBe(0);
      expect(aborted.json<{ message: string }>().message).toContain("v4 runs again, schema 4");
      expect(running(slow(4))).toBe(false);
      expect(await statusOf(id)).toBe("rollback_done");
      expect(await svc.liveVersions("production")).toEqual(["v4"]);
      await new Promise((r) => setTimeout(r, 5500));
      expect(svc.schemaOf("production")).toBe(4);
      expect(await openRuns()).toBe(0);
      expect(await locks()).toBe(0);
    }, 120_000);
  },
);
