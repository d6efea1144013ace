import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApprovalsService, loadBotSettings, startApprovalsService } from "@relctl/bot";
import { type Actor, DEFAULT_APPROVAL_POLICY, ReleaseStore, TokenStore } from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import {
  ADMIN_URL,
  createPostgresTestDatabase,
  describeWithSshd,
  freePort,
  type GithubEmulator,
  type SshdHandle,
  startGithubEmulator,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ActionRunResult, runActionStep } from "./support/composite-runner.js";
import { packAction } from "./support/packed-action.js";

const ADMIN: Actor = { user: "admin", channel: "cli" };
const GITHUB_TOKEN = "ghs_emulatedGithubToken0123456789abcdefXYZ";

async function health(port: number): Promise<{ http: number; version?: string; schema?: number }> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    const body = (await res.json()) as { version?: string; schema?: number };
    return { http: res.status, version: body.version, schema: body.schema };
  } catch {
    return { http: 0 };
  }
}

/** The job log without the lines that only register masks. */
const logWithoutMasks = (r: ActionRunResult) =>
  r.log
    .split("\n")
    .filter((l) => !l.startsWith("::add-mask::"))
    .join("\n");

describeWithSshd(
  "the action's main and post steps, as the runner runs them, on a real sshd host with the approvals service",
  () => {
    let tmp: string;
    /** The action as published, packed for this file. */
    let actionDir: string;
    let sshd: SshdHandle;
    let github: GithubEmulator;
    let relctlDb: TestDatabase;
    let service: ApprovalsService;
    let store: ReleaseStore;
    let admin: postgres.Sql;
    let apiToken: string;
    let workspace: string;
    let jobEnv: Record<string, string>;
    const dbNames: string[] = [];
    const ports = { stage: 0, production: 0 };
    let runs = 0;
    const releaseIds: Record<string, number> = {};

    /** One job: a fresh RUNNER_TEMP, the event, the action step's `with:`. */
    async function job(
      withInputs: Record<string, string>,
      event: { name: "push"; tag: string } | { name: "workflow_dispatch"; inputs: Record<string, string> },
    ): Promise<ActionRunResult> {
      runs++;
      const runnerTemp = mkdtempSync(join(tmp, `runner-${runs}-`));
      const ref = event.name === "push" ? `refs/tags/${event.tag}` : "refs/heads/main";
      return runActionStep({
        actionDir,
        with: {
          "api-url": service.url,
          "api-token": apiToken,
          "ssh-private-key": readFileSync(sshd.userKeyPath, "utf8"),
          "known-hosts": `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`,
          ...withInputs,
        },
        env: jobEnv,
        runnerTemp,
        workflow: {
          event: event.name === "push" ? { ref } : { ref, inputs: event.inputs },
          eventName: event.name,
          ref,
          repository: "acme/hello",
          runId: String(9000 + runs),
          actor: "octocat",
          token: GITHUB_TOKEN,
          apiUrl: github.url,
          workspace,
        },
      });
    }

    async function approveAll(id: number) {
      for (const [role, user] of [
        ["qa", "quinn"],
        ["devops", "dora"],
        ["lead", "lee"],
      ] as const) {
        await store.decide(id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
          user,
          channel: "telegram",
        });
      }
      expect((await store.requireRelease(id)).status).toBe("manual_test_passed");
    }

    /** Status moves of a release as the approvals service recorded them (actor and channel). */
    async function statusMoves(id: number): Promise<string[]> {
      return (await store.listAudit({ releaseId: id }))
        .filter((e) => e.action === "release.status")
        .map((e) => `${e.channel}:${(e.after as { status: string }).status}`);
    }

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), "relctl-action-"));
      actionDir = packAction(tmp);
      sshd = await startSshd();
      github = await startGithubEmulator();
      const { bareDir } = await createHelloRepo({ dir: join(tmp, "repo") });
      admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      const makeDb = async (label: string) => {
        const name = `hello_action_${label}_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
        await admin.unsafe(`CREATE DATABASE ${name}`);
        dbNames.push(name);
        const url = new URL(ADMIN_URL);
        url.pathname = `/${name}`;
        return url.toString();
      };
      const [stageUrl, productionUrl] = [await makeDb("stage"), await makeDb("prod")];
      ports.stage = await freePort();
      ports.production = await freePort();

      relctlDb = await createPostgresTestDatabase("relctl_action");
      const serviceEnv = { DATABASE_URL: relctlDb.url!, RELCTL_HTTP_HOST: "127.0.0.1" };
      service = await startApprovalsService({
        settings: loadBotSettings(serviceEnv),
        env: serviceEnv,
        cwd: tmp,
        port: 0,
        workers: false,
      });
      store = new ReleaseStore(relctlDb.db.sql);
      apiToken = (
        await new TokenStore(relctlDb.db.sql).createToken({ name: "ci-hello", services: ["hello"] }, ADMIN)
      ).secret;

      workspace = join(tmp, "workspace");
      const host = (name: string) =>
        `      - { name: ${name}, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user} }`;
      const commands = `    commands:
      build: npm ci --prefer-offline --no-audit --no-fund
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
      stop: sh bin/stop.sh`;
      mkdirSync(workspace);
      writeFileSync(
        join(workspace, "relctl.yml"),
        `service: hello
repository: ${bareDir}
environments:
  stage:
    hosts:
${host("stage-1")}
    path: ${join(tmp, "hosts", "stage")}
    keep: 3
    env: { PORT: "${ports.stage}", DATABASE_URL: "\${HELLO_STAGE_DATABASE_URL}", FEATURE_FLAGS_URL: "http://flags.invalid" }
${commands}
    health: { url: "http://127.0.0.1:${ports.stage}/health", attempts: 10, interval: 300ms, timeout: 3s, from: host, expect_version: true }
  production:
    hosts:
${host("prod-1")}
    path: ${join(tmp, "hosts", "production")}
    env: { PORT: "${ports.production}", DATABASE_URL: "\${HELLO_PRODUCTION_DATABASE_URL}" }
${commands}
    health: { url: "http://127.0.0.1:${ports.production}/health", attempts: 3, interval: 300ms, timeout: 3s, from: host, expect_version: true }
`,
      );
      // The job's environment: like GitHub environment secrets, a job gets its own environment's only.
      jobEnv = { HELLO_STAGE_DATABASE_URL: stageUrl, HELLO_PRODUCTION_DATABASE_URL: productionUrl };
    });

    afterAll(async () => {
      for (const env of ["stage", "production"]) {
        const pidfile = join(tmp, "hosts", env, "hello.pid");
        if (existsSync(pidfile)) {
          try {
            process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
          } catch {
            /* gone */
          }
        }
      }
      await service?.close();
      await github?.close();
      await sshd?.stop();
      await relctlDb?.drop();
      for (const name of dbNames) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin?.end();
      rmSync(tmp, { recursive: true, force: true });
    });

    it("stage on a tag push: the release is created in the service, deployed to stage, and waits for approvals", async () => {
      const r = await job({ command: "stage" }, { name: "push", tag: "v1.0.0" });
      expect(r.code, r.log).toBe(0);
      expect(r.steps.map((s) => [s.name, s.code])).toEqual([
        ["main", 0],
        ["post", 0],
      ]);
      // main saved its key's folder for post; the folder is gone (main removes it, post makes sure).
      const keyDirs = JSON.parse(r.state["ssh-key-dirs"]!) as string[];
      expect(keyDirs).toHaveLength(1);
      for (const dir of keyDirs) expect(existsSync(dir)).toBe(false);
      expect(r.state["main-finished"]).toBe("0");
      expect(r.outputs["release-id"]).toMatch(/^\d+$/);
      expect(r.outputs.status).toBe("manual_testing");
      expect(r.outputs["previous-tag"]).toBe("");
      expect(r.outputs["trace-id"]).toMatch(/^[0-9a-f]{32}$/);
      releaseIds["v1.0.0"] = Number(r.outputs["release-id"]);

      // The service holds the release, initiated by the workflow's actor, moved by the API.
      const release = await store.requireRelease(releaseIds["v1.0.0"]);
      expect(release).toMatchObject({
        service: "hello",
        tag: "v1.0.0",
        status: "manual_testing",
        initiatedBy: "octocat",
      });
      expect(release.githubActionLink).toBe("https://github.com/acme/hello/actions/runs/9001");
      expect(await statusMoves(release.id)).toEqual([
        "api:stage_building",
        "api:stage_test_rollback",
        "api:manual_testing",
      ]);
      const audit = await store.listAudit({ releaseId: release.id });
      expect(audit.every((e) => e.traceId === r.outputs["trace-id"])).toBe(true);

      // Later steps of the job get the trace and the release.
      expect(r.envFile).toMatch(/^RELCTL_TRACE_ID<</m);
      expect(r.envFile).toContain(r.outputs["trace-id"]);
      expect(r.envFile).toMatch(/^RELCTL_RELEASE_ID<</m);

      // Log groups per step; the secrets are masked and never printed.
      expect(r.log).toContain(`::group::stage-1: git fetch --tags`);
      expect(r.log).toContain("::endgroup::");
      // The hosts' output is printed with workflow commands stopped, under a one-time token.
      const token = /^::stop-commands::([0-9a-f]{32})$/m.exec(r.log)?.[1];
      expect(token).toBeDefined();
      expect(r.log).toContain(`\n::${token}::\n`);
      expect(r.log).toContain(`::add-mask::${apiToken}`);
      expect(r.log).toContain(`::add-mask::${jobEnv.HELLO_STAGE_DATABASE_URL}`);
      expect(logWithoutMasks(r)).not.toContain(apiToken);
      expect(logWithoutMasks(r)).not.toContain("PRIVATE KEY");

      // The summary: the result, the facts and the step table.
      expect(r.summary).toContain("## ✅ relctl stage: hello v1.0.0");
      expect(r.summary).toContain("### Deploy v1.0.0 to stage: succeeded");
      expect(r.summary).toContain("| # | Host | Step | Duration | Result |");
      expect(r.summary).toMatch(/\| 1 \| stage-1 \| read the live release \| \d/);
      expect(r.summary).toContain("first release of hello on stage: nothing to roll back to");
      expect(r.summary).toContain(`<code>${r.outputs["trace-id"]}</code>`);

      // GitHub: one deployment of v1.0.0 to stage, successful, with the schema it runs with.
      const [deployment] = github.deploymentsOf("stage");
      expect(deployment).toMatchObject({
        ref: "v1.0.0",
        environment: "stage",
        production_environment: false,
      });
      expect(deployment!.payload).toMatchObject({
        relctl: {
          service: "hello",
          tag: "v1.0.0",
          kind: "deploy",
          schema_version: "1",
          release_id: release.id,
        },
      });
      expect(deployment!.statuses.map((s) => s.state)).toEqual(["success"]);
      expect(deployment!.statuses[0]!.log_url).toBe("https://github.com/acme/hello/actions/runs/9001");
      const auth = github.requests.find((q) => q.method === "POST")?.headers.authorization;
      expect(auth).toBe(`token ${GITHUB_TOKEN}`);
      expect(await health(ports.stage)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
    });

    it("production, dispatched with release_id and tag, deploys an approved release", async () => {
      await approveAll(releaseIds["v1.0.0"]!);
      const r = await job(
        { command: "production" },
        { name: "workflow_dispatch", inputs: { release_id: String(releaseIds["v1.0.0"]), tag: "v1.0.0" } },
      );
      expect(r.code, r.log).toBe(0);
      expect(r.outputs).toMatchObject({
        "release-id": String(releaseIds["v1.0.0"]),
        status: "deployed",
        "previous-tag": "",
      });
      expect(await statusMoves(releaseIds["v1.0.0"]!)).toEqual([
        "api:stage_building",
        "api:stage_test_rollback",
        "api:manual_testing",
        "telegram:manual_test_passed",
        "api:deploying",
        "api:deployed",
      ]);
      expect(r.summary).toContain("### Deploy v1.0.0 to production: succeeded");
      const [deployment] = github.deploymentsOf("production");
      expect(deployment).toMatchObject({ ref: "v1.0.0", production_environment: true });
      expect(deployment!.statuses.map((s) => s.state)).toEqual(["success"]);
      expect(await health(ports.production)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
    });

    it("stage of v1.1.0 reads stage's history from GitHub Deployments and rehearses the rollback to v1.0.0", async () => {
      const r = await job({ command: "stage" }, { name: "push", tag: "v1.1.0" });
      expect(r.code, r.log).toBe(0);
      expect(r.outputs).toMatchObject({ status: "manual_testing", "previous-tag": "v1.0.0" });
      releaseIds["v1.1.0"] = Number(r.outputs["release-id"]);
      expect(r.log).toContain("what ran on stage before, from GitHub Deployments: v1.0.0 (schema 1)");
      expect(r.summary).toContain("### Rollback rehearsal on stage: succeeded");
      expect(r.summary).toContain("node migrate.mjs down 1");
      expect((await store.requireRelease(releaseIds["v1.1.0"])).rollbackToTag).toBe("v1.0.0");
      // GitHub marked the older stage deployment inactive, as it does.
      expect(github.deploymentsOf("stage").map((d) => [d.ref, d.statuses.at(-1)?.state])).toEqual([
        ["v1.0.0", "inactive"],
        ["v1.1.0", "success"],
      ]);
      expect(await health(ports.stage)).toMatchObject({ http: 200, version: "1.1.0", schema: 2 });
    });

    it("production refuses a release that is still waiting for approvals, before any SSH connection", async () => {
      const before = sshd.connectionsSeen();
      const deploymentsBefore = github.deployments.length;
      const r = await job(
        { command: "production" },
        { name: "workflow_dispatch", inputs: { release_id: String(releaseIds["v1.1.0"]), tag: "v1.1.0" } },
      );
      expect(r.code).toBe(3);
      expect(r.log).toMatch(
        /::error title=relctl::hello v1\.1\.0 \(release \d+\) is waiting for approvals; production needs an approved release/,
      );
      expect(r.envFile).toBe("");
      expect(sshd.connectionsSeen()).toBe(before);
      expect(github.deployments.length).toBe(deploymentsBefore);
      expect(r.summary).toContain("## ❌ relctl production: v1.1.0");
    });

    it("production of v1.1.0, then a rollback to v1.0.0 with its migration, reported to the service and GitHub", async () => {
      await approveAll(releaseIds["v1.1.0"]!);
      const deployed = await job(
        { command: "production" },
        { name: "workflow_dispatch", inputs: { release_id: String(releaseIds["v1.1.0"]), tag: "v1.1.0" } },
      );
      expect(deployed.code, deployed.log).toBe(0);
      expect(deployed.outputs).toMatchObject({ status: "deployed", "previous-tag": "v1.0.0" });
      expect(await health(ports.production)).toMatchObject({ http: 200, version: "1.1.0", schema: 2 });

      const r = await job(
        { command: "rollback" },
        { name: "workflow_dispatch", inputs: { release_id: String(releaseIds["v1.1.0"]), tag: "v1.0.0" } },
      );
      expect(r.code, r.log).toBe(0);
      expect(r.outputs).toMatchObject({
        "release-id": String(releaseIds["v1.1.0"]),
        status: "rollback_done",
        "previous-tag": "v1.1.0",
      });
      expect(await health(ports.production)).toMatchObject({ http: 200, version: "1.0.0", schema: 1 });
      expect((await statusMoves(releaseIds["v1.1.0"]!)).slice(-3)).toEqual([
        "api:deployed",
        "api:production_rollback",
        "api:rollback_done",
      ]);
      expect(r.summary).toContain("### Rollback of production to v1.0.0: succeeded");
      expect(r.summary).toContain("node migrate.mjs down 1");
      const last = github.deploymentsOf("production").at(-1)!;
      expect(last).toMatchObject({ ref: "v1.0.0", task: "deploy:rollback" });
      expect(last.payload).toMatchObject({
        relctl: { kind: "rollback", from_tag: "v1.1.0", schema_version: "1" },
      });
      expect(last.statuses.map((s) => s.state)).toEqual(["success"]);
    });

    it("status reports the release from the service and what each environment runs", async () => {
      const r = await job(
        { command: "status", "release-id": String(releaseIds["v1.1.0"]) },
        { name: "workflow_dispatch", inputs: {} },
      );
      expect(r.code, r.log).toBe(0);
      expect(r.outputs).toMatchObject({ status: "rollback_done", "previous-tag": "v1.0.0" });
      expect(r.summary).toContain("| Live on production | v1.0.0 (schema 1) |");
      expect(r.summary).toContain("| Live on stage | v1.1.0 (schema 2) |");
      expect(r.summary).toMatch(/\| Approval: qa \| approved \(quinn\) \|/);
    });
  },
);
