import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describe("relctl CLI on PostgreSQL", () => {
  let t: TestDatabase;
  let env: Record<string, string>;
  let cwd: string;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_cli");
    env = { DATABASE_URL: t.url!, RELCTL_USER: "dev" };
    cwd = mkdtempSync(join(tmpdir(), "relctl-cli-"));
  });
  afterAll(async () => {
    await t?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runCli(args, env, cwd);

  async function footprint(id: number) {
    const [row] = await t.db.sql`SELECT * FROM releases WHERE id = ${id}`;
    const audit = await t.db.sql`SELECT id, action FROM audit_events ORDER BY id`;
    const approvals = await t.db.sql`SELECT id FROM approvals ORDER BY id`;
    return {
      row: { ...row },
      audit: audit.map((a) => `${a.id}:${a.action}`),
      approvals: approvals.map((a) => a.id),
    };
  }

  async function toManualTesting(tag: string): Promise<number> {
    const created = await cli("release", "create", "auth", tag, "--json");
    expect(created.code).toBe(0);
    const id = created.json<{ release: { id: number } }>().release.id;
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"]) {
      const r = await cli("release", "update", String(id), "--status", s, "--as", "ci");
      expect(r.code, r.stderr).toBe(0);
    }
    return id;
  }

  it("runs a release through three approvals in order to manual_test_passed", async () => {
    const id = await toManualTesting("v1.0.0");
    for (const [role, user] of [
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ]) {
      const r = await cli("approve", String(id), "--role", role!, "--as", user!);
      expect(r.code, r.stderr).toBe(0);
    }
    const status = await cli("status", String(id), "--json");
    expect(status.json()).toMatchObject({
      release: { status: "manual_test_passed", initiated_by: "dev" },
      approvals: [
        { role: "qa", state: "approved", approved_by: ["quinn"] },
        { role: "devops", state: "approved", approved_by: ["dora"] },
        { role: "lead", state: "approved", approved_by: ["lee"] },
      ],
    });
    const audit = await cli("audit", "--release", String(id), "--json");
    const actions = audit.json<{ events: { action: string; actor: string; channel: string }[] }>().events;
    expect(actions.filter((e) => e.action === "release.approve").map((e) => e.actor)).toEqual([
      "quinn",
      "dora",
      "lee",
    ]);
    // On the database itself the CLI is administrator mode: what the approvals did says so.
    const approvers = ["quinn", "dora", "lee"];
    const byApprovers = actions.filter((e) => approvers.includes(e.actor));
    expect(byApprovers.length).toBeGreaterThanOrEqual(3);
    expect(byApprovers.every((e) => e.channel === "cli-admin")).toBe(true);
    expect(actions.filter((e) => !approvers.includes(e.actor)).every((e) => e.channel === "cli")).toBe(true);
  });

  it("prints human results on stdout and nothing on stderr for a success", async () => {
    const r = await cli("releases", "--state", "active");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  });

  it("is idempotent for the same service and tag", async () => {
    const a = (await cli("release", "create", "auth", "v3.0.0", "--json")).json<{
      created: boolean;
      release: { id: number };
    }>();
    const b = (await cli("release", "create", "auth", "v3.0.0", "--json")).json<{
      created: boolean;
      release: { id: number };
    }>();
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.release.id).toBe(a.release.id);
  });

  it.each([
    [
      "out-of-order approval",
      (id: number) => ["approve", String(id), "--role", "lead", "--as", "lee"],
      3,
      /lead cannot approve yet: devops must approve first/,
    ],
    [
      "self-approval",
      (id: number) => ["approve", String(id), "--role", "qa", "--as", "dev"],
      2,
      /initiated this release/,
    ],
    [
      "a second approval by the same person",
      (id: number) => ["approve", String(id), "--role", "devops", "--as", "quinn"],
      3,
      /already approved/,
    ],
    [
      "an unknown role",
      (id: number) => ["approve", String(id), "--role", "cfo", "--as", "x"],
      2,
      /not required/,
    ],
  ] as const)("refuses %s with one line, changing nothing", async (_name, argv, code, message) => {
    const id = await toManualTesting(`v2.${Math.floor(Math.random() * 1e6)}`);
    expect((await cli("approve", String(id), "--role", "qa", "--as", "quinn")).code).toBe(0);
    const before = await footprint(id);
    const r = await cli(...argv(id));
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toBe("");
    expect(await footprint(id)).toEqual(before);
  });

  it("refuses approving a release that is not in manual_testing, and unknown ids", async () => {
    const id = (await cli("release", "create", "auth", "v4.0.0", "--json")).json<{
      release: { id: number };
    }>().release.id;
    const before = await footprint(id);
    const r = await cli("approve", String(id), "--role", "qa", "--as", "quinn");
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^relctl: the release is initiated; approvals are taken only in manual_testing/);
    const unknown = await cli("approve", "987654", "--role", "qa", "--as", "quinn");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/release 987654: no such release/);
    expect(await footprint(id)).toEqual(before);
  });

  it.each([
    [
      "a tag with shell syntax",
      ["release", "create", "auth", "v1;$(id)"],
      /tag: "v1;\$\(id\)" is not an allowed tag/,
    ],
    [
      "a service with a space",
      ["release", "create", "Auth Service", "v1.0.0"],
      /service: "Auth Service" is not a valid service name/,
    ],
  ])("refuses %s before writing anything", async (_name, argv, message) => {
    const count = async () => (await t.db.sql`SELECT count(*)::int AS c FROM releases`)[0]!.c as number;
    const audits = async () => (await t.db.sql`SELECT count(*)::int AS c FROM audit_events`)[0]!.c as number;
    const [c0, a0] = [await count(), await audits()];
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect([await count(), await audits()]).toEqual([c0, a0]);
  });

  it("prints an error document on stdout with --json", async () => {
    const id = (await cli("release", "create", "auth", "v6.0.0", "--json")).json<{
      release: { id: number };
    }>().release.id;
    const r = await cli("release", "update", String(id), "--status", "deployed", "--json");
    expect(r.code).toBe(3);
    expect(r.json()).toEqual({
      error: expect.objectContaining({
        code: "illegal_transition",
        kind: "state",
        from: "initiated",
        to: "deployed",
      }),
    });
  });

  it("reads the approval policy from relctl.yml", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relctl-cfg-"));
    writeFileSync(join(dir, "relctl.yml"), "service: auth\napprovals:\n  roles: [lead]\n");
    const id = await toManualTesting("v5.0.0");
    const r = await runCli(["approve", String(id), "--role", "lead", "--as", "lee", "--json"], env, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ completed: true, release: { status: "manual_test_passed" } });
    writeFileSync(join(dir, "relctl.yml"), "service: auth\napprovals:\n  order: maybe\n");
    const bad = await runCli(["status", String(id)], env, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      `relctl: ${join(dir, "relctl.yml")}: approvals.order: expected one of "sequential", "any", got "maybe"`,
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows examples in --help", async () => {
    for (const args of [["--help"], ["approve", "--help"], ["release", "create", "--help"]]) {
      const r = await cli(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/EXAMPLES|COMMANDS/);
    }
  });
});

describe("relctl CLI on the embedded database", () => {
  it("keeps state on disk between runs with no database configured", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "relctl-embedded-"));
    const env = { RELCTL_USER: "dev" };
    const a = await runCli(["release", "create", "hello", "v1.0.0", "--json"], env, cwd);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli(["releases", "--json"], env, cwd);
    expect(b.json<{ releases: { release_tag: string }[] }>().releases.map((r) => r.release_tag)).toEqual([
      "v1.0.0",
    ]);
    rmSync(cwd, { recursive: true, force: true });
  });
});
