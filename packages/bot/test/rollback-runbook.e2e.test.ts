import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Actor,
  createExecutor,
  DEFAULT_APPROVAL_POLICY,
  parseConfig,
  ReleaseStore,
  RunStore,
  runDeploy,
  type ServiceConfig,
} from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import { ADMIN_URL, freePort } from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRunbookDeployer } from "../src/deploy/runbook-deployer.js";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness, waitFor } from "./support/harness.js";

const LEAD = 301;
const ci: Actor = { user: "ci", channel: "cli" };

/** The real runbook behind the button: hello-service deployed to a folder on this machine. */
describe("one-click rollback from the card runs the real rollback runbook", () => {
  let h: Harness;
  let tmp: string;
  let config: ServiceConfig;
  let port: number;
  let admin: postgres.Sql;
  let helloDb: postgres.Sql;
  const dbName = `hello_bot_${process.pid}`;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "relctl-bot-runbook-"));
    await createHelloRepo({ dir: join(tmp, "repo") });
    admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${dbName}`);
    const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
    helloDb = postgres(url, { max: 1, onnotice: () => {} });
    port = await freePort();
    config = parseConfig(`
service: hello
repository: ${join(tmp, "repo", "hello.git")}
environments:
  production:
    hosts: [{ address: local }]
    path: ${join(tmp, "production")}
    env: { PORT: "${port}", DATABASE_URL: "${url}" }
    commands:
      build: npm ci --prefer-offline --no-audit --no-fund
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
    health: { url: "http://127.0.0.1:${port}/health", attempts: 5, interval: 300ms, from: relctl, expect_version: true }
`);
    h = await startHarness({
      env: { RELCTL_DEPLOY_VIA: "runbook" },
      runbookDeployer: (db) =>
        createRunbookDeployer({
          deps: {
            releases: new ReleaseStore(db.db.sql),
            runs: new RunStore(db.db.sql),
            executor: createExecutor(),
          },
          store: new ReleaseStore(db.db.sql),
          configFor: async () => config,
        }),
    });
    await h.addMember(LEAD, "lee", ["lead"]);
    const store = h.service.deps.store;
    const deps = { releases: store, runs: new RunStore(h.db.db.sql), executor: createExecutor() };
    for (const tag of ["v1.0.0", "v1.1.0"]) {
      const { release } = await store.createRelease({ service: "hello", tag }, ci);
      for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
        await store.transition(release.id, s, "runbook", ci);
      for (const [role, user] of [
        ["qa", "q"],
        ["devops", "d"],
        ["lead", "l"],
      ] as const) {
        await store.decide(release.id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
          user,
          channel: "cli",
        });
      }
      const outcome = await runDeploy(deps, { config, environment: "production", tag, actor: ci });
      expect(outcome.status, outcome.message).toBe("succeeded");
    }
    await outboxDrained(h);
  }, 120_000);

  afterAll(async () => {
    const pidfile = join(tmp, "production", "hello.pid");
    if (existsSync(pidfile)) process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
    await h?.close();
    await helloDb?.end();
    await admin?.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin?.end();
    rmSync(tmp, { recursive: true, force: true });
  });

  const card = () =>
    h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("hello v1.1.0 — #"))!;

  it("the card's versions are what the hosts keep; confirm rolls code and schema back; the card ends at rollback_done", async () => {
    await h.press(
      LEAD,
      RELEASE_CHAT,
      card().messageId,
      h.telegram.button(RELEASE_CHAT, card().messageId, /Rollback/),
    );
    // The card's own keyboard is the picker.
    const picker = card();
    await waitFor(() => picker.buttons.flat().some((b) => b.text === "v1.0.0"), 15_000, "the versions");
    expect(picker.buttons.map((r) => r[0]!.text)).toEqual(["v1.0.0", "« Back"]);
    await h.press(
      LEAD,
      RELEASE_CHAT,
      picker.messageId,
      h.telegram.button(RELEASE_CHAT, picker.messageId, /^v1\.0\.0$/),
    );
    await waitFor(
      () => picker.buttons[0]?.[0]?.text === "Yes, roll back to v1.0.0",
      15_000,
      "the confirmation",
    );
    await h.press(
      LEAD,
      RELEASE_CHAT,
      picker.messageId,
      h.telegram.button(RELEASE_CHAT, picker.messageId, /Yes, roll back/),
    );
    await waitFor(
      async () => (await h.service.deps.store.findRelease("hello", "v1.1.0"))?.status === "rollback_done",
      60_000,
      "rollback_done",
    );
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await res.json()).toEqual({ status: "ok", version: "1.0.0", schema: 1 });
    const [{ v }] = (await helloDb`SELECT max(version)::int AS v FROM schema_migrations`) as unknown as [
      { v: number },
    ];
    expect(v).toBe(1);
    await outboxDrained(h);
    await waitFor(() => card().text.includes("Status: rolled back"), 15_000, "the card at rollback_done");
    const audit = await h.db.db
      .sql`SELECT actor, channel FROM audit_events WHERE action = 'release.status' AND (after->>'status') = 'rollback_done'`;
    expect(audit.map((a) => a.actor)).toEqual(["lee"]);
  }, 90_000);
});
