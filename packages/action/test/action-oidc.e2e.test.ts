import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApprovalsService, loadBotSettings, startApprovalsService } from "@relctl/bot";
import { type Actor, OidcStore, ReleaseStore } from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import {
  ADMIN_URL,
  createPostgresTestDatabase,
  describeWithSshd,
  freePort,
  type GithubEmulator,
  type IdTokenClaims,
  type SshdHandle,
  startGithubEmulator,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ActionRunResult, runActionStep } from "./support/composite-runner.js";
import { packAction } from "./support/packed-action.js";

const ADMIN: Actor = { user: "admin", channel: "cli-admin" };

describeWithSshd("the action with GitHub OIDC: no API token, the job's ID token for every call", () => {
  let tmp: string;
  let actionDir: string;
  let sshd: SshdHandle;
  let github: GithubEmulator;
  let relctlDb: TestDatabase;
  let service: ApprovalsService;
  let store: ReleaseStore;
  let admin: postgres.Sql;
  let workspace: string;
  let stageUrl: string;
  let dbName: string;
  let port: number;
  let runs = 0;

  /** A tag push of `tag`, whose job's ID tokens carry `claims`. */
  async function job(tag: string, claims: Partial<IdTokenClaims> = {}): Promise<ActionRunResult> {
    runs++;
    const ref = `refs/tags/${tag}`;
    const endpoint = github.oidc.jobEndpoint({
      ref,
      job_workflow_ref: `acme/hello/.github/workflows/release.yml@${ref}`,
      ...claims,
    });
    return runActionStep({
      actionDir,
      with: {
        command: "stage",
        "api-url": service.url,
        oidc: "true",
        "ssh-private-key": readFileSync(sshd.userKeyPath, "utf8"),
        "known-hosts": `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`,
        deployments: "false",
      },
      env: {
        HELLO_STAGE_DATABASE_URL: stageUrl,
        ACTIONS_ID_TOKEN_REQUEST_URL: endpoint.url,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: endpoint.token,
      },
      runnerTemp: mkdtempSync(join(tmp, `runner-${runs}-`)),
      workflow: {
        event: { ref },
        eventName: "push",
        ref,
        repository: "acme/hello",
        runId: String(7000 + runs),
        actor: "octocat",
        token: "ghs_emulatedGithubToken0123456789abcdef",
        apiUrl: github.url,
        workspace,
      },
    });
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "relctl-action-oidc-"));
    actionDir = packAction(tmp);
    sshd = await startSshd();
    github = await startGithubEmulator();
    const { bareDir } = await createHelloRepo({ dir: join(tmp, "repo") });
    admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    dbName = `hello_action_oidc_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${dbName}`;
    stageUrl = url.toString();
    port = await freePort();

    relctlDb = await createPostgresTestDatabase("relctl_action_oidc");
    // The emulator is GitHub Actions' OIDC issuer; the service expects the action's default audience.
    const serviceEnv = {
      DATABASE_URL: relctlDb.url!,
      RELCTL_HTTP_HOST: "127.0.0.1",
      RELCTL_OIDC_ISSUER: github.url,
    };
    service = await startApprovalsService({
      settings: loadBotSettings(serviceEnv),
      env: serviceEnv,
      cwd: tmp,
      port: 0,
      workers: false,
    });
    store = new ReleaseStore(relctlDb.db.sql);
    await new OidcStore(relctlDb.db.sql).allow(
      {
        service: "hello",
        repositoryId: "4242",
        ownerId: "77",
        workflow: "acme/hello/.github/workflows/release.yml@refs/tags/*",
      },
      ADMIN,
    );

    workspace = join(tmp, "workspace");
    mkdirSync(workspace);
    writeFileSync(
      join(workspace, "relctl.yml"),
      `service: hello
repository: ${bareDir}
environments:
  stage:
    hosts:
      - { name: stage-1, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user} }
    path: ${join(tmp, "hosts", "stage")}
    keep: 3
    env: { PORT: "${port}", DATABASE_URL: "\${HELLO_STAGE_DATABASE_URL}" }
    commands:
      build: npm ci --prefer-offline --no-audit --no-fund
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
      stop: sh bin/stop.sh
    health: { url: "http://127.0.0.1:${port}/health", attempts: 10, interval: 300ms, timeout: 3s, from: host, expect_version: true }
`,
    );
  });

  afterAll(async () => {
    const pidfile = join(tmp, "hosts", "stage", "hello.pid");
    if (existsSync(pidfile)) {
      try {
        process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
      } catch {
        /* gone */
      }
    }
    await service?.close();
    await github?.close();
    await sshd?.stop();
    await relctlDb?.drop();
    await admin?.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin?.end();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("stage on a tag push: every call carries a new ID token the service verifies and authorizes", async () => {
    const r = await job("v1.0.0");
    expect(r.code, r.log).toBe(0);
    expect(r.outputs.status).toBe("manual_testing");
    const release = await store.requireRelease(Number(r.outputs["release-id"]));
    // Initiated by the login GitHub names in the token, and every move through the API.
    expect(release).toMatchObject({ service: "hello", tag: "v1.0.0", initiatedBy: "octocat" });
    const moves = (await store.listAudit({ releaseId: release.id }))
      .filter((e) => e.action === "release.status")
      .map((e) => `${e.channel}:${e.actor}:${(e.after as { status: string }).status}`);
    expect(moves).toEqual([
      "api:octocat:stage_building",
      "api:octocat:stage_test_rollback",
      "api:octocat:manual_testing",
    ]);
    // One token per call, each for the default audience, each used once; the runner masked each.
    const issued = github.oidc.issued;
    expect(issued.length).toBeGreaterThanOrEqual(4);
    expect(new Set(issued.map((i) => i.token)).size).toBe(issued.length);
    expect(issued.every((i) => i.audience === "relctl")).toBe(true);
    const [uses] = await relctlDb.db.sql`SELECT count(*)::int AS n FROM oidc_token_uses`;
    expect(uses!.n).toBe(issued.length);
    for (const { token } of issued) expect(r.log).toContain(`::add-mask::${token}`);
  });

  it("is refused, before any host is touched, when the job is another repository's", async () => {
    const before = sshd.connectionsSeen();
    const r = await job("v1.1.0", { repository: "evil/hello", repository_id: "9999" });
    expect(r.code).toBe(2);
    expect(r.log).toMatch(
      /::error title=relctl::approvals service: POST \/release: 403 oidc: the repository evil\/hello \(id 9999\) is not allowed for the service hello/,
    );
    expect(sshd.connectionsSeen()).toBe(before);
    expect(await store.findRelease("hello", "v1.1.0")).toBeUndefined();
  });

  it("is refused when the job runs on another tag than the release's", async () => {
    const r = await job("v1.1.0", { ref: "refs/tags/v9.9.9" });
    expect(r.code).toBe(2);
    expect(r.log).toMatch(/403 oidc: the job ran on refs\/tags\/v9\.9\.9, not on refs\/tags\/v1\.1\.0/);
  });
});
