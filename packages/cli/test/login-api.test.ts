import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApprovalsService, loadBotSettings, startApprovalsService } from "@relctl/bot";
import { type Actor, DEFAULT_APPROVAL_POLICY, MemberStore, ReleaseStore, TokenStore } from "@relctl/core";
import { createPostgresTestDatabase, GithubEmulator, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, runCli } from "./run-cli.js";

const ADMIN: Actor = { user: "admin", channel: "cli-admin" };
const BIN = join(import.meta.dirname, "..", "bin", "run.js");

/** relctl with its stdin fed (relctl login reads the token from a pipe). */
function cliWithInput(args: string[], env: Record<string, string>, input: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }));
    child.stdin.end(input);
  });
}

describe("people are who they say: the CLI through the approvals service with a personal token", () => {
  let t: TestDatabase;
  let github: GithubEmulator;
  let service: ApprovalsService;
  let store: ReleaseStore;
  let home: string;
  /** The CLI as an admin on the database (no approvals service). */
  let adminEnv: Record<string, string>;
  /** The CLI with an approvals service: the identity comes from the login. */
  let apiEnv: Record<string, string>;
  const secrets: Record<string, string> = {};

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_cli_login");
    github = await new GithubEmulator().start();
    home = mkdtempSync(join(tmpdir(), "relctl-cli-login-"));
    const serviceEnv = {
      DATABASE_URL: t.url!,
      RELCTL_HTTP_HOST: "127.0.0.1",
      GITHUB_TOKEN: "ghp_test0123456789",
      GITHUB_ORG: "acme",
      GITHUB_API_URL: github.url,
    };
    service = await startApprovalsService({
      settings: loadBotSettings(serviceEnv),
      env: serviceEnv,
      cwd: home,
      port: 0,
      workers: false,
    });
    store = new ReleaseStore(t.db.sql);
    const members = new MemberStore(t.db.sql);
    const tokens = new TokenStore(t.db.sql);
    for (const [id, name, role] of [
      [1001, "quinn", "qa"],
      [1002, "dora", "devops"],
      [1003, "lee", "lead"],
    ] as const) {
      await members.writeMember({ telegramId: id, name, roles: [role] }, ADMIN);
      secrets[name] = (await tokens.createToken({ name: `${name}-laptop`, member: id }, ADMIN)).secret;
    }
    adminEnv = { DATABASE_URL: t.url!, HOME: home, XDG_CONFIG_HOME: join(home, "config") };
    apiEnv = { HOME: home, XDG_CONFIG_HOME: join(home, "config"), RELCTL_API_URL: service.url };
  });
  afterAll(async () => {
    await service?.close();
    await github?.close();
    await t?.drop();
    rmSync(home, { recursive: true, force: true });
  });

  async function toManualTesting(tag: string): Promise<number> {
    const { release } = await store.createRelease({ service: "hello", tag }, { user: "dev", channel: "api" });
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const) {
      await store.transition(release.id, s, "workflow", { user: "ci", channel: "api" });
    }
    return release.id;
  }
  const login = (name: string) => cliWithInput(["login"], apiEnv, `${secrets[name]}\n`);
  const api = (...args: string[]) => runCli(args, apiEnv, home);
  const audit = async (id: number, action: string) =>
    (await store.listAudit({ releaseId: id }))
      .filter((e) => e.action === action)
      .map((e) => `${e.channel}:${e.actor}`);

  it("relctl login checks the personal token with the service and keeps it readable by the user only", async () => {
    const wrong = await cliWithInput(["login"], apiEnv, "rlc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrong.stderr).toMatch(/token is unknown or revoked/);

    const r = await login("quinn");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`logged in to ${service.url} as quinn (qa)`);
    const file = join(home, "config", "relctl", "credentials.json");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "config", "relctl")).mode & 0o777).toBe(0o700);
  });

  it("approves as the logged-in member, with the same checks as a Telegram press; --as is refused", async () => {
    const id = await toManualTesting("v1.0.0");
    const as = await api("approve", String(id), "--as", "lee");
    expect(as.code).toBe(2);
    expect(as.stderr).toBe(
      "relctl: as: refused with an approvals service (RELCTL_API_URL): you act as the member you logged in as (relctl login)\n",
    );

    const r = await api("approve", String(id));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/release \d+ {2}hello v1\.0\.0 {2}manual_testing/);
    expect(r.stdout).toContain("✓ qa (quinn)");
    expect(await audit(id, "release.approve")).toEqual(["api:quinn"]);

    // The member's own roles and the order decide, as for a button: quinn holds no devops role.
    const again = await api("approve", String(id));
    expect(again.code).toBe(3);
    expect(again.stderr).toBe("relctl: it is devops's turn to approve\n");

    expect((await login("dora")).code).toBe(0);
    // A role named is the one recorded or nothing.
    const named = await api("approve", String(id), "--role", "qa");
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/^relctl: role: you would approve hello v1\.0\.0 as devops now, not as qa/);
    const dora = await api("approve", String(id), "--role", "devops", "--json");
    expect(dora.code, dora.stderr).toBe(0);
    expect(dora.json()).toMatchObject({ release_id: id, completed: false });
    expect((await login("lee")).code).toBe(0);
    const lee = await api("reject", String(id), "--reason", "login page broken");
    expect(lee.code, lee.stderr).toBe(0);
    expect((await store.requireRelease(id)).status).toBe("manual_test_failed");
    expect(await audit(id, "release.approve")).toEqual(["api:quinn", "api:dora"]);
    expect(await audit(id, "release.reject")).toEqual(["api:lee"]);
  });

  it("asks for a rollback as the member, checked like the Telegram button", async () => {
    for (const tag of ["v2.0.0", "v2.1.0"]) {
      const id = await toManualTesting(tag);
      for (const [role, user] of [
        ["qa", "seed-qa"],
        ["devops", "seed-devops"],
        ["lead", "seed-lead"],
      ] as const) {
        await store.decide(id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
          user,
          channel: "telegram",
        });
      }
      await store.transition(id, "deploying", "workflow", { user: "ci", channel: "api" });
      await store.transition(id, "deployed", "workflow", { user: "ci", channel: "api" });
    }
    // lee (lead) may roll back; quinn (qa) may not.
    expect((await login("quinn")).code).toBe(0);
    const qa = await api("rollback", "hello", "--to", "v2.0.0", "-e", "production", "-y");
    expect(qa.code).toBe(2);
    expect(qa.stderr).toMatch(/^relctl: rolling back needs one of the roles devops, lead, admin\n$/);
    expect((await login("lee")).code).toBe(0);
    const notRestorable = await api("rollback", "hello", "--to", "v9.9.9", "-e", "production", "-y");
    expect(notRestorable.code).toBe(3);
    expect(notRestorable.stderr).toMatch(/v9\.9\.9 is no longer a version hello can roll back to/);
    const r = await api("rollback", "hello", "--to", "v2.0.0", "-e", "production", "-y");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /rollback of hello on production to v2\.0\.0 requested by lee \(request \d+, pending\)/,
    );
    const [request] = await t.db
      .sql`SELECT requested_by, channel, to_tag FROM deploy_requests WHERE kind = 'rollback'`;
    expect(request).toMatchObject({ requested_by: "lee", channel: "api", to_tag: "v2.0.0" });
    const twice = await api("rollback", "hello", "--to", "v2.0.0", "-e", "production", "-y");
    expect(twice.code).toBe(3);
    expect(twice.stderr).toMatch(
      /a rollback of hello to v2\.0\.0 is under way on production, requested by lee/,
    );
  });

  it("refuses without a login, or a login to another service", async () => {
    expect((await runCli(["logout"], apiEnv, home)).code).toBe(0);
    const r = await api("approve", "1");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^relctl: you are not logged in to the approvals service .* \(relctl login, /);
  });

  it("without an approvals service is administrator mode: --help says so, and the audit records cli-admin", async () => {
    for (const command of ["approve", "reject", "rollback"]) {
      const help = await runCli([command, "--help"], adminEnv, home);
      expect(help.stdout.replace(/\s+/g, " ")).toContain("administrator mode, acting as --as");
    }
    const id = await toManualTesting("v3.0.0");
    const r = await runCli(["approve", String(id), "--role", "qa", "--as", "quinn"], adminEnv, home);
    expect(r.code, r.stderr).toBe(0);
    expect(await audit(id, "release.approve")).toEqual(["cli-admin:quinn"]);
    const noRole = await runCli(["approve", String(id), "--as", "dora"], adminEnv, home);
    expect(noRole.code).toBe(2);
    expect(noRole.stderr).toMatch(/role: name the role you approve as/);
  });
});
