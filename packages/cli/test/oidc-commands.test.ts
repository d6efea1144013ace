import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describe("relctl oidc allow, list and revoke", () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  let cwd: string;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_cli_oidc");
    env = { DATABASE_URL: t.url!, RELCTL_USER: "admin" };
    cwd = mkdtempSync(join(tmpdir(), "relctl-cli-oidc-"));
  });
  afterAll(async () => {
    await t?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, env, cwd);
  const workflow = "acme/hello/.github/workflows/release.yml@refs/tags/*";

  it("allows a workflow by its repository and owner ids, lists it, revokes it; each change audited", async () => {
    const allowed = await cli(
      "oidc",
      "allow",
      "hello",
      "--repository-id",
      "4242",
      "--owner-id",
      "77",
      "--workflow",
      workflow,
      "--json",
    );
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(allowed.json()).toMatchObject({
      created: true,
      policy: { service: "hello", repository_id: "4242", owner_id: "77", workflow, created_by: "admin" },
    });
    const again = await cli(
      "oidc",
      "allow",
      "hello",
      "--repository-id",
      "4242",
      "--owner-id",
      "77",
      "--workflow",
      workflow,
    );
    expect(again.stdout).toMatch(/^already allowed {2}\d+ {2}hello {2}repository 4242 {2}owner 77/);
    await cli(
      "oidc",
      "allow",
      "auth",
      "--repository-id",
      "5",
      "--owner-id",
      "77",
      "--workflow",
      "acme/auth/.github/workflows/r.yml@refs/heads/main",
    );
    const list = await cli("oidc", "list", "hello", "--json");
    expect(list.json<{ total: number }>().total).toBe(1);
    const all = await cli("oidc", "list");
    expect(all.stdout.trim().split("\n")).toHaveLength(2);

    const revoked = await cli("oidc", "revoke", "hello");
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(/^revoked {2}\d+ {2}hello/);
    expect((await cli("oidc", "list", "hello")).stdout).toBe("no workflow is allowed\n");
    const none = await cli("oidc", "revoke", "hello");
    expect(none.code).toBe(2);
    expect(none.stderr).toBe(
      "relctl: service: no workflow is allowed for hello (see them with: relctl oidc list)\n",
    );
    const audit = await t.db
      .sql`SELECT action, actor FROM audit_events WHERE action LIKE 'oidc.%' ORDER BY id`;
    expect(audit.map((e) => `${e.action}:${e.actor}`)).toEqual([
      "oidc.allow:admin",
      "oidc.allow:admin",
      "oidc.revoke:admin",
    ]);
  });

  it("refuses names instead of GitHub's numeric ids, and a workflow that names no repository", async () => {
    const byName = await cli(
      "oidc",
      "allow",
      "hello",
      "--repository-id",
      "acme/hello",
      "--owner-id",
      "77",
      "--workflow",
      workflow,
    );
    expect(byName.code).toBe(2);
    expect(byName.stderr).toMatch(
      /^relctl: repository-id: expected GitHub's numeric id, got "acme\/hello" \(read it with: gh api/,
    );
    const any = await cli(
      "oidc",
      "allow",
      "hello",
      "--repository-id",
      "1",
      "--owner-id",
      "77",
      "--workflow",
      "*",
    );
    expect(any.code).toBe(2);
  });
});
