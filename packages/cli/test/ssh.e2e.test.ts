import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Actor,
  abortRun,
  acknowledgeHold,
  createExecutor,
  DEFAULT_APPROVAL_POLICY,
  DeployRequestStore,
  parseConfig,
  ReleaseStore,
  type RunEvent,
  RunStore,
  runDeploy,
  runRehearsal,
} from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import {
  ADMIN_URL,
  createPostgresTestDatabase,
  describeWithSshd,
  freePort,
  type SshdHandle,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

const ci: Actor = { user: "ci", channel: "cli" };

/** The service's /health: HTTP status, and the version and schema it reports. */
async function health(port: number): Promise<{ http: number; version?: string; schema?: number }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    const body = (await res.json()) as { version?: string; schema?: number };
    return { http: res.status, version: body.version, schema: body.schema };
  } catch {
    return { http: 0 };
  }
}

describeWithSshd(
  "releases on real sshd hosts: stage, rehearsal, production, automatic and manual rollback",
  () => {
    let tmp: string;
    let stage: SshdHandle;
    let prodA: SshdHandle;
    let prodB: SshdHandle;
    let relctlDb: TestDatabase;
    let admin: postgres.Sql;
    let stageDb: postgres.Sql;
    let prodDb: postgres.Sql;
    let env: Record<string, string>;
    let configFile: string;
    let configText: string;
    const ports = { stage: 0, a: 0, b: 0 };
    const dbNames: string[] = [];

    const cli = (...args: string[]) => runCli(args, env, tmp);
    const deps = () => ({
      releases: new ReleaseStore(relctlDb.db.sql),
      runs: new RunStore(relctlDb.db.sql),
      executor: createExecutor(),
    });
    const config = (text = configText) => parseConfig(text, { file: configFile, env });

    async function makeDb(label: string): Promise<{ url: string; sql: postgres.Sql }> {
      const name = `hello_${label}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      dbNames.push(name);
      const url = new URL(ADMIN_URL);
      url.pathname = `/${name}`;
      return { url: url.toString(), sql: postgres(url.toString(), { max: 2, onnotice: () => {} }) };
    }

    const schemaOf = async (sql: postgres.Sql) => {
      const [row] = await sql`SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations`;
      const tables =
        await sql`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`;
      return { version: row!.v as number, tables: tables.map((t) => t.table_name as string) };
    };

    async function approveAll(id: number) {
      for (const [role, user] of [
        ["qa", "quinn"],
        ["devops", "dora"],
        ["lead", "lee"],
      ] as const) {
        const r = await cli("approve", String(id), "--role", role, "--as", user);
        expect(r.code, r.stderr).toBe(0);
      }
    }

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), "relctl-e2e-"));
      [stage, prodA, prodB] = await Promise.all([startSshd(), startSshd(), startSshd()]);
      await createHelloRepo({ dir: join(tmp, "repo") });
      admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      relctlDb = await createPostgresTestDatabase("relctl_e2e");
      const s = await makeDb("stage");
      const p = await makeDb("prod");
      stageDb = s.sql;
      prodDb = p.sql;
      ports.stage = await freePort();
      ports.a = await freePort();
      ports.b = await freePort();
      const host = (h: SshdHandle, name: string, extra: string) =>
        `      - { name: ${name}, address: 127.0.0.1, port: ${h.port}, user: ${h.user}, private_key: ${h.userKeyPath}, host_key: "${h.hostKeyFingerprint}"${extra} }`;
      const commands = `    commands:
      build: npm ci --prefer-offline --no-audit --no-fund
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
      stop: sh bin/stop.sh`;
      configText = `service: hello
repository: ${join(tmp, "repo", "hello.git")}
environments:
  stage:
    hosts:
${host(stage, "stage-1", "")}
    path: ${join(tmp, "hosts", "stage")}
    env: { PORT: "${ports.stage}", DATABASE_URL: "\${HELLO_STAGE_DATABASE_URL}", FEATURE_FLAGS_URL: "http://flags.invalid" }
${commands}
    health: { url: "http://127.0.0.1:${ports.stage}/health", attempts: 10, interval: 300ms, timeout: 3s, from: host, expect_version: true }
  production:
    hosts:
${host(prodA, "prod-a", `, path: ${join(tmp, "hosts", "prod-a")}, env: { PORT: "${ports.a}" }, health_url: "http://127.0.0.1:${ports.a}/health"`)}
${host(prodB, "prod-b", `, path: ${join(tmp, "hosts", "prod-b")}, env: { PORT: "${ports.b}" }, health_url: "http://127.0.0.1:${ports.b}/health"`)}
    path: ${join(tmp, "hosts", "unused")}
    env: { DATABASE_URL: "\${HELLO_PRODUCTION_DATABASE_URL}" }
${commands}
    health: { url: "http://127.0.0.1:${ports.a}/health", attempts: 3, interval: 300ms, timeout: 3s, from: host, expect_version: true }
`;
      configFile = join(tmp, "relctl.yml");
      writeFileSync(configFile, configText);
      env = {
        DATABASE_URL: relctlDb.url!,
        RELCTL_CONFIG: configFile,
        RELCTL_USER: "ci",
        CI: "1",
        HELLO_STAGE_DATABASE_URL: s.url,
        HELLO_PRODUCTION_DATABASE_URL: p.url,
      };
    });

    afterAll(async () => {
      for (const h of ["stage", "prod-a", "prod-b"]) {
        const pidfile = join(tmp, "hosts", h, "hello.pid");
        if (existsSync(pidfile)) {
          try {
            process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
          } catch {
            /* gone */
          }
        }
      }
      await Promise.all([stage?.stop(), prodA?.stop(), prodB?.stop()]);
      await stageDb?.end();
      await prodDb?.end();
      await relctlDb?.drop();
      for (const name of dbNames) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin?.end();
      rmSync(tmp, { recursive: true, force: true });
    });

    it("v1.0.0: relctl release → stage + rehearsal (first release) → approvals → production on both hosts", async () => {
      const staged = await cli("release", "hello", "v1.0.0", "--json");
      expect(staged.code, staged.stderr).toBe(0);
      expect(staged.json()).toMatchObject({ status: "succeeded", release: { status: "manual_testing" } });
      expect(staged.json<{ message: string }>().message).toMatch(
        /first release of hello: nothing to roll back to/,
      );
      expect(await health(ports.stage)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      const id = staged.json<{ release: { id: number } }>().release.id;
      await approveAll(id);
      const authsBefore = [prodA.authsAccepted(), prodB.authsAccepted()];
      const deployed = await cli("deploy", "hello", "v1.0.0", "--env", "production");
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(deployed.stdout).toMatch(/hello v1.0.0 is live on production/);
      // One connection per host for the whole deploy.
      expect([prodA.authsAccepted() - authsBefore[0]!, prodB.authsAccepted() - authsBefore[1]!]).toEqual([
        1, 1,
      ]);
      expect(await health(ports.a)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect(await health(ports.b)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      const release = await new ReleaseStore(relctlDb.db.sql).requireRelease(id);
      expect(release.status).toBe("deployed");
      // Migrations ran once for the environment: on the first host only.
      const steps = await relctlDb.db.sql`
      SELECT s.host FROM step_runs s JOIN runs r ON r.id = s.run_id
      WHERE r.environment = 'production' AND r.tag = 'v1.0.0' AND s.step = 'migrate'`;
      expect(steps.map((s) => s.host)).toEqual(["prod-a"]);
    });

    it("v1.1.0: the rehearsal rolls stage back to v1.0.0 and its schema, then restores v1.1.0", async () => {
      const d = deps();
      const cfg = config();
      const staged = await runDeploy(d, { config: cfg, environment: "stage", tag: "v1.1.0", actor: ci });
      expect(staged.status).toBe("succeeded");
      expect(await schemaOf(stageDb)).toMatchObject({ version: 2 });
      const seen: { version: number; tables: string[]; live: unknown }[] = [];
      const reporter = async (e: RunEvent) => {
        if (e.type === "step-end" && e.step.id === "health" && e.ok) {
          seen.push({ ...(await schemaOf(stageDb)), live: (await health(ports.stage)).version });
        }
      };
      const rehearsed = await runRehearsal(
        { ...d, reporter },
        { config: cfg, environment: "stage", tag: "v1.1.0", actor: ci },
      );
      expect(rehearsed.status, rehearsed.message).toBe("succeeded");
      expect(rehearsed.release?.status).toBe("manual_testing");
      expect(rehearsed.previousTag).toBe("v1.0.0");
      expect(seen).toEqual([
        { version: 1, tables: ["greetings", "schema_migrations"], live: "1.0.0" },
        { version: 2, tables: ["greetings", "schema_migrations", "visits"], live: "1.1.0" },
      ]);
      await approveAll(rehearsed.release!.id);
      const deployed = await cli("deploy", "hello", "v1.1.0", "--env", "production");
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(await health(ports.a)).toMatchObject({ version: "1.1.0", schema: 2 });
      expect(await health(ports.b)).toMatchObject({ version: "1.1.0", schema: 2 });
    });

    it("v1.2.0: production health fails → automatic rollback, migrations first → rollback_done, lock free", async () => {
      const staged = await cli("release", "hello", "v1.2.0", "--json");
      expect(staged.code, staged.stderr).toBe(0);
      const id = staged.json<{ release: { id: number } }>().release.id;
      await approveAll(id);
      const deployed = await cli("deploy", "hello", "v1.2.0", "--env", "production", "--json");
      expect(deployed.code).toBe(4);
      expect(deployed.json()).toMatchObject({
        error: {
          code: "run_rolled_back",
          status: "rolled_back",
          previous_tag: "v1.1.0",
          release: { status: "rollback_done" },
        },
      });
      expect(deployed.stderr).toMatch(/v1.2.0 failed on production .*; rolled back to v1.1.0/);
      expect(await health(ports.a)).toMatchObject({ http: 200, version: "1.1.0", schema: 2 });
      expect(await health(ports.b)).toMatchObject({ http: 200, version: "1.1.0", schema: 2 });
      expect(await schemaOf(prodDb)).toEqual({
        version: 2,
        tables: ["greetings", "schema_migrations", "visits"],
      });
      expect(await new RunStore(relctlDb.db.sql).getLock("hello", "production")).toBeUndefined();
      // The down migration ran with the new code, before the switch back.
      const steps = await relctlDb.db.sql`
      SELECT s.step, s.host FROM step_runs s JOIN runs r ON r.id = s.run_id
      WHERE r.environment = 'production' AND r.tag = 'v1.2.0' ORDER BY s.id`;
      const order = steps.map((s) => `${s.host}:${s.step}`);
      expect(order.indexOf("prod-a:migrate-down")).toBeLessThan(order.lastIndexOf("prod-a:switch"));
      const versions = await cli("versions", "hello", "--env", "production", "--json");
      expect(versions.json()).toMatchObject({ current: { tag: "v1.1.0" }, restorable: [{ tag: "v1.0.0" }] });
    });

    it("relctl rollback hello --to v1.0.0 --env production --yes → v1.0.0 code and schema", async () => {
      // While a rollback asked for from the chat is under way, relctl rollback is refused, naming it,
      // before any connection.
      const live = await new ReleaseStore(relctlDb.db.sql).findRelease("hello", "v1.1.0");
      const requests = new DeployRequestStore(relctlDb.db.sql);
      const asked = await requests.requestRollback(
        { releaseId: live!.id, service: "hello", toTag: "v1.0.0" },
        { user: "lee", channel: "telegram" },
      );
      const seen = prodA.connectionsSeen();
      const refused = await cli("rollback", "hello", "--to", "v1.0.0", "--env", "production", "--yes");
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        /a rollback of hello to v1\.0\.0 is under way on production, requested by lee at \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
      );
      expect(prodA.connectionsSeen()).toBe(seen);
      expect(await new RunStore(relctlDb.db.sql).getLock("hello", "production")).toBeUndefined();
      await relctlDb.db.sql`UPDATE deploy_requests SET state = 'failed' WHERE id = ${asked.id}`;

      const r = await cli("rollback", "hello", "--to", "v1.0.0", "--env", "production", "--yes");
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/rolled back from v1.1.0 to v1.0.0/);
      expect(await health(ports.a)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect(await health(ports.b)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect(await schemaOf(prodDb)).toEqual({ version: 1, tables: ["greetings", "schema_migrations"] });
      const v110 = await new ReleaseStore(relctlDb.db.sql).findRelease("hello", "v1.1.0");
      expect(v110?.status).toBe("rollback_done");
      // Its own request was open while it ran, and is closed now.
      const [own] = await relctlDb.db.sql`
        SELECT state, channel FROM deploy_requests WHERE kind = 'rollback' AND id <> ${asked.id}`;
      expect(own).toMatchObject({ state: "done", channel: "cli-admin" });
      const notAsked = await runCli(["rollback", "hello", "--to", "v1.0.0", "--env", "production"], env, tmp);
      expect(notAsked.code).toBe(3); // already live
    });

    it("reports deploy time, success rate, MTTR, incidents and people from what it recorded", async () => {
      const r = await cli("report", "--service", "hello", "--json");
      expect(r.code, r.stderr).toBe(0);
      const report = r.json<{
        deploys: { count: number; mean_seconds: number };
        releases: { finished: number; successful: number; success_rate: number };
        recoveries: { count: number; mttr_seconds: number };
        incidents_per_30_days: number;
        people_per_release: number;
      }>();
      // v1.0.0 and v1.1.0 went live; v1.2.0 rolled back by itself; v1.1.0 was rolled back by hand.
      expect(report.deploys.count).toBe(2);
      expect(report.deploys.mean_seconds).toBeGreaterThan(0);
      expect(report.releases).toEqual({ finished: 3, successful: 1, success_rate: 0.333 });
      expect(report.recoveries.count).toBe(2);
      expect(report.recoveries.mttr_seconds).toBeGreaterThan(0);
      expect(report.incidents_per_30_days).toBe(2);
      // ci, and the three approvers.
      expect(report.people_per_release).toBe(4);
    });

    it("refuses hostile tags before any connection", async () => {
      const marker = join(tmpdir(), `pwned-${process.pid}`);
      const before = [stage.connectionsSeen(), prodA.connectionsSeen()];
      for (const args of [
        ["deploy", "hello", `v1;$(touch ${marker})`, "--env", "stage"],
        ["deploy", "hello", "--env", "stage", "--", "--upload-pack=x"],
        ["rollback", "hello", "--to", `v1;$(touch ${marker})`, "--env", "production", "--yes"],
      ]) {
        const r = await cli(...args);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toMatch(/not an allowed tag/);
      }
      expect([stage.connectionsSeen(), prodA.connectionsSeen()]).toEqual(before);
      expect(existsSync(marker)).toBe(false);
    });

    it("aborts on a host key mismatch with zero commands run", async () => {
      const wrong = configText.replace(stage.hostKeyFingerprint, prodA.hostKeyFingerprint);
      const file = join(tmp, "wrong-key.yml");
      writeFileSync(file, wrong);
      const before = { sessions: stage.sessionsOpened(), auths: stage.authsAccepted() };
      const r = await runCli(["deploy", "hello", "v1.1.0", "--env", "stage", "--config", file], env, tmp);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/host key/i);
      expect({ sessions: stage.sessionsOpened(), auths: stage.authsAccepted() }).toEqual(before);
      expect(await new RunStore(relctlDb.db.sql).getLock("hello", "stage")).toBeUndefined();
    });

    it("fails a second deploy at once, naming the holder; a crashed run's lock expires", async () => {
      const runs = new RunStore(relctlDb.db.sql);
      const held = await runs.tryAcquireLock({
        service: "hello",
        environment: "stage",
        owner: "alice",
        reason: "deploy v9.9.9",
        leaseMs: 60_000,
      });
      expect(held.acquired).toBe(true);
      const r = await cli("deploy", "hello", "v1.1.0", "--env", "stage");
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/hello\/stage is locked by alice \(deploy v9.9.9\)/);
      const freed = await cli("lock", "release", "hello", "--env", "stage", "--as", "ops");
      expect(freed.code, freed.stderr).toBe(0);
      expect(await runs.getLock("hello", "stage")).toBeUndefined();
      const audit = await relctlDb.db.sql`SELECT actor FROM audit_events WHERE action = 'lock.release'`;
      expect(audit.map((a) => a.actor)).toEqual(["ops"]);
      const crashed = await runs.tryAcquireLock({
        service: "hello",
        environment: "qa",
        owner: "crashed",
        reason: "deploy",
        leaseMs: 200,
      });
      expect(crashed.acquired).toBe(true);
      const blocked = await runs.tryAcquireLock({
        service: "hello",
        environment: "qa",
        owner: "bob",
        reason: "deploy",
        leaseMs: 60_000,
      });
      expect(blocked.acquired).toBe(false);
      await new Promise((r) => setTimeout(r, 400));
      const taken = await runs.tryAcquireLock({
        service: "hello",
        environment: "qa",
        owner: "bob",
        reason: "deploy",
        leaseMs: 60_000,
      });
      expect(taken).toMatchObject({ acquired: true, lock: { owner: "bob" } });
    });

    it("fails a remote step that hangs at its own timeout, changing nothing live", async () => {
      const marker = `relctl-hang-${process.pid}`;
      const text = configText.replace(
        "    commands:\n      build: npm ci --prefer-offline --no-audit --no-fund",
        `    timeouts: { build: 2s }\n    commands:\n      build: sleep 60 # ${marker}`,
      );
      const started = Date.now();
      // v1.2.0 was rolled back in production: releasing it again on stage is a new attempt.
      const outcome = await runDeploy(deps(), {
        config: config(text),
        environment: "stage",
        tag: "v1.2.0",
        actor: ci,
      });
      expect(outcome.status).toBe("failed");
      expect(outcome.message).toMatch(/build .* failed: it timed out after 2s .*nothing live was changed/);
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(await health(ports.stage)).toMatchObject({ http: 200, version: "1.2.0" });
      // The remote `timeout` kills the command (TERM, then KILL 5 s later).
      const gone = async () => {
        for (let i = 0; i < 40; i++) {
          try {
            execFileSync("pgrep", ["-f", marker]);
          } catch {
            return true; // pgrep exits 1: no such process
          }
          await new Promise((r) => setTimeout(r, 250));
        }
        return false;
      };
      expect(await gone()).toBe(true);
    }, 40_000);

    it("marks the release failed, frees the lock and says what to do when the SSH connection is cut mid-step", async () => {
      // A new tag of the same code, approved, whose migration is slow enough to cut the connection under it.
      execFileSync("git", ["-C", join(tmp, "repo", "hello"), "tag", "v1.1.1", "v1.1.0"]);
      execFileSync("git", ["-C", join(tmp, "repo", "hello"), "push", "--quiet", "origin", "v1.1.1"]);
      const d = deps();
      const { release } = await d.releases.createRelease({ service: "hello", tag: "v1.1.1" }, ci);
      for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
        await d.releases.transition(release.id, s, "runbook", ci);
      for (const [role, user] of [
        ["qa", "quinn"],
        ["devops", "dora"],
        ["lead", "lee"],
      ] as const) {
        await d.releases.decide(release.id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
          user,
          channel: "cli",
        });
      }
      const text = configText.replaceAll(
        "      migrate: node migrate.mjs up",
        "      migrate: sleep 3 && node migrate.mjs up",
      );
      let cut = false;
      const reporter = (e: RunEvent) => {
        if (e.type === "step-start" && e.step.id === "migrate" && !cut) {
          cut = true;
          setTimeout(() => {
            prodA.dropConnections();
            void prodA.pause();
          }, 1500);
        }
      };
      // Earlier rollbacks hold production deploys until someone acknowledges them.
      await acknowledgeHold(
        { runs: d.runs, audit: d.releases },
        { service: "hello", environment: "production" },
        { user: "lee", channel: "cli" },
      );
      const outcome = await runDeploy(
        { ...d, reporter },
        { config: config(text), environment: "production", tag: "v1.1.1", actor: ci },
      );
      expect(cut).toBe(true);
      expect(outcome.status, outcome.message).toBe("rollback_failed");
      expect(outcome.message).toMatch(/prod-a: migrate .* failed: the SSH connection was lost/);
      expect(outcome.hint).toMatch(/relctl abort hello --env production/);
      expect((await d.releases.requireRelease(release.id)).status).toBe("rollback_failed");
      expect(await d.runs.getLock("hello", "production")).toBeUndefined();

      // The host comes back: the hint's command puts v1.0.0 and its schema back on both hosts.
      await prodA.resume();
      const aborted = await abortRun(d, {
        config: config(text),
        environment: "production",
        actor: { user: "dora", channel: "cli" },
      });
      expect(aborted).toMatchObject({ kind: "rolled_back", outcome: { status: "succeeded" } });
      expect((await d.releases.requireRelease(release.id)).status).toBe("rollback_done");
      expect(await health(ports.a)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect(await health(ports.b)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect(await d.runs.getLock("hello", "production")).toBeUndefined();
    }, 90_000);
  },
);
