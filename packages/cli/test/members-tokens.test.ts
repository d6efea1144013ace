import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, freePort, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describe("relctl members, tokens and serve", () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  let cwd: string;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_cli_members");
    env = { DATABASE_URL: t.url!, RELCTL_USER: "admin" };
    cwd = mkdtempSync(join(tmpdir(), "relctl-cli-members-"));
  });
  afterAll(async () => {
    await t?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, env, cwd);

  it("adds, lists and removes members, audited", async () => {
    const added = await cli(
      "members",
      "add",
      "1001",
      "--name",
      "quinn",
      "--role",
      "qa",
      "--github",
      "Quinn-GH",
      "--service",
      "auth",
      "--json",
    );
    expect(added.code, added.stderr).toBe(0);
    expect(added.json()).toMatchObject({
      created: true,
      member: {
        telegram_id: 1001,
        name: "quinn",
        roles: ["qa"],
        services: ["auth"],
        github_login: "quinn-gh",
      },
    });
    const updated = await cli(
      "members",
      "add",
      "1001",
      "--name",
      "quinn",
      "--role",
      "qa",
      "--role",
      "devops",
    );
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain("updated  1001  quinn  qa,devops  all services");

    const badRole = await cli("members", "add", "1002", "--role", "boss");
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toBe(
      'relctl: role[0]: "boss" is not a member role (one of qa, devops, lead, admin)\n',
    );
    const badId = await cli("members", "add", "@quinn", "--role", "qa");
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain("telegram_id: expected a numeric Telegram user id");
    const clash = await cli("members", "add", "1003", "--name", "quinn", "--role", "lead");
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain("name: already used by the member with Telegram id 1001");

    const list = await cli("members", "list", "--json");
    expect(list.json<{ members: { name: string }[] }>().members.map((m) => m.name)).toEqual(["quinn"]);
    expect((await cli("members", "remove", "1001")).code).toBe(0);
    expect((await cli("members", "remove", "1001")).code).toBe(2);
    const audit = await t.db
      .sql`SELECT action, actor FROM audit_events WHERE action LIKE 'member.%' ORDER BY id`;
    expect(audit.map((a) => `${a.action}:${a.actor}`)).toEqual([
      "member.add:admin",
      "member.update:admin",
      "member.remove:admin",
    ]);
  });

  it("creates a token shown once, lists it without the secret, revokes it", async () => {
    const created = await cli("tokens", "create", "ci-auth", "--service", "auth");
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^rlc_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toContain("token ci-auth (service:auth): shown once");
    const list = await cli("tokens", "list", "--json");
    expect(list.stdout).not.toContain(secret);
    expect(list.json()).toMatchObject({ tokens: [{ name: "ci-auth", scopes: ["service:auth"] }] });
    expect((await cli("tokens", "create", "ci-auth", "--service", "auth")).code).toBe(2);
    expect((await cli("tokens", "create", "nothing")).code).toBe(2);
    expect((await cli("tokens", "revoke", "ci-auth")).code).toBe(0);
    expect((await cli("tokens", "list", "--json")).json()).toEqual({ tokens: [] });
  });

  it("serves the HTTP API with `relctl serve --json` (a JSON line once up), and a CLI-made token works there", async () => {
    const secret = (await cli("tokens", "create", "ci-serve", "--service", "auth")).stdout.trim();
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "bin", "run.js"), "serve", "--json"],
      {
        cwd,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...env,
          PORT: String(port),
          RELCTL_HTTP_HOST: "127.0.0.1",
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let stdout = "";
    child.stderr.on("data", (d) => (out += d));
    child.stdout.on("data", (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    try {
      const deadline = Date.now() + 20_000;
      while (!out.includes("approvals service started") && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(out).toContain("approvals service started");
      while (!stdout.includes("\n") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(JSON.parse(stdout.split("\n")[0]!)).toEqual({
        status: "up",
        url: expect.stringMatching(/^http:/),
      });
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const created = await fetch(`http://127.0.0.1:${port}/release`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ service: "auth", tag: "v9.9.9" }),
      });
      expect(created.status).toBe(201);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(out).not.toContain(secret);
  });
});
