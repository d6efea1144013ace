import { AUDIT_EXPORT_COLUMNS } from "@relctl/core";
import {
  createMiniService,
  createPostgresRolesTestDatabase,
  type MiniService,
  parseCsv,
  type RolesTestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

/**
 * relctl run as a database role that owns nothing, as the README sets it up: the owner migrates
 * and grants (relctl db migrate --owner-url … --grant …), every command then works as the runtime
 * role, and relctl audit verify / export check and carry the audit it cannot rewrite.
 */
describe("the CLI as the runtime database role", () => {
  let r: RolesTestDatabase;
  let svc: MiniService;
  let env: Record<string, string>;

  beforeAll(async () => {
    r = await createPostgresRolesTestDatabase("relctl_cli_roles", { migrate: false });
    svc = await createMiniService({
      tags: [
        { tag: "v1", schema: 1 },
        { tag: "v2", schema: 2 },
      ],
      environments: { stage: { hosts: 1 }, production: { hosts: 1 } },
    });
    env = { DATABASE_URL: r.runtimeUrl, RELCTL_CONFIG: svc.configFile, RELCTL_USER: "dev" };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await r?.drop();
  });

  const cli = (...args: string[]) => runCli(args, env, svc.dir);
  const releaseId = async (tag: string) =>
    Number(
      (await r.owner.sql`SELECT id FROM releases WHERE release_tag = ${tag} ORDER BY id DESC LIMIT 1`)[0]!.id,
    );

  it("before the owner migrates, a command as the runtime role says to run relctl db migrate --owner-url", async () => {
    const res = await cli("releases", "--json");
    expect(res.code).toBe(3);
    expect(res.json()).toMatchObject({ error: { code: "schema_not_migrated" } });
    expect(res.stderr).toContain(`the role ${r.runtimeRole} may not migrate it`);
    expect(res.stderr).toContain("relctl db migrate --owner-url");
    const migrate = await cli("db", "migrate");
    expect(migrate.code).toBe(3);
    expect((await r.owner.sql`SELECT to_regclass('releases') AS t`)[0]!.t).toBeNull();
  });

  it("db migrate --owner-url --grant --dry-run prints the migrations and the grants, changing nothing", async () => {
    const res = await cli("db", "migrate", "--owner-url", r.ownerUrl, "--grant", r.runtimeRole, "--dry-run");
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/schema version 0; would apply 1, 2, .*14/);
    expect(res.stdout).toContain(`would grant ${r.runtimeRole}:`);
    expect(res.stdout).toContain(
      `GRANT SELECT, INSERT ON TABLE "public".audit_events TO "${r.runtimeRole}";`,
    );
    expect(res.stdout).not.toContain(r.ownerUrl);
    expect((await r.owner.sql`SELECT to_regclass('releases') AS t`)[0]!.t).toBeNull();
  });

  it("the owner migrates and grants (RELCTL_DATABASE_OWNER_URL), printing each statement; again is a no-op", async () => {
    const res = await runCli(
      ["db", "migrate", "--grant", r.runtimeRole, "--json"],
      { ...env, RELCTL_DATABASE_OWNER_URL: r.ownerUrl },
      svc.dir,
    );
    expect(res.code, res.stderr).toBe(0);
    const out = res.json<{
      version: number;
      applied: number[];
      grants: { role: string; statements: string[] };
    }>();
    expect(out.applied).toContain(14);
    expect(out.grants.role).toBe(r.runtimeRole);
    expect(out.grants.statements).toContain(
      `GRANT SELECT ON TABLE "public".audit_chain TO "${r.runtimeRole}"`,
    );
    expect(out.grants.statements.filter((s) => /audit_events/.test(s))).toEqual([
      `REVOKE ALL ON TABLE "public".audit_events FROM "${r.runtimeRole}"`,
      `GRANT SELECT, INSERT ON TABLE "public".audit_events TO "${r.runtimeRole}"`,
    ]);
    const tables = await r.owner.sql`SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'`;
    expect(tables.map((t) => t.tableowner)).toEqual([r.ownerRole]);

    const again = await cli("db", "migrate", "--owner-url", r.ownerUrl, "--grant", r.runtimeRole);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("(up to date)");
    expect(again.stdout).toContain(`granted ${r.runtimeRole}:`);
    // The runtime role's own start-up: the schema is current, nothing to do.
    const plain = await cli("db", "migrate", "--json");
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.json()).toMatchObject({ applied: [] });
  });

  it("releases, approves, deploys and rolls back as the runtime role", async () => {
    for (const tag of ["v1", "v2"]) {
      const rel = await cli("release", "mini", tag, "--json");
      expect(rel.code, rel.stderr).toBe(0);
      const id = await releaseId(tag);
      for (const [role, user] of [
        ["qa", "quinn"],
        ["devops", "dora"],
        ["lead", "lee"],
      ]) {
        const a = await cli("approve", String(id), "--role", role!, "--as", user!);
        expect(a.code, a.stderr).toBe(0);
      }
      const d = await cli("deploy", "mini", tag, "--env", "production", "--json");
      expect(d.code, d.stderr).toBe(0);
    }
    expect(await svc.liveVersions("production")).toEqual(["v2"]);
    const back = await cli("rollback", "mini", "--to", "v1", "--env", "production", "--yes", "--json");
    expect(back.code, back.stderr).toBe(0);
    expect(await svc.liveVersions("production")).toEqual(["v1"]);
    expect((await cli("ack", "mini", "--env", "production", "--as", "lee")).code).toBe(0);

    const rejected = await cli("release", "create", "mini", "v9-rc", "--json");
    expect(rejected.code, rejected.stderr).toBe(0);
    for (const step of [
      ["lock", "acquire", "mini", "--env", "production", "--reason", "incident 42"],
      ["lock", "release", "mini", "--env", "production"],
      ["members", "add", "1001", "--name", "quinn", "--role", "qa"],
      ["members", "remove", "1001"],
      ["tokens", "create", "ci-mini", "--service", "mini"],
      ["tokens", "revoke", "ci-mini"],
      ["status", String(await releaseId("v2"))],
      ["versions", "mini", "--env", "production"],
      ["runs", "mini", "--env", "production"],
      ["report"],
      ["audit", "--limit", "5"],
    ]) {
      const res = await cli(...step);
      expect(res.code, `${step.join(" ")}: ${res.stderr}`).toBe(0);
    }
  });

  it("audit verify passes on the clean chain and prints the head to keep", async () => {
    const res = await cli("audit", "verify");
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^audit chain intact: \d+ events; head \d+:[0-9a-f]{64}$/m);
    const json = (await cli("audit", "verify", "--json")).json<{
      ok: boolean;
      links: number;
      head: { anchor: string };
    }>();
    const [{ n }] = (await r.owner.sql`SELECT count(*)::int AS n FROM audit_events`) as unknown as [
      { n: number },
    ];
    expect(json).toMatchObject({ ok: true, links: n, broken: [] });
    const anchored = await cli("audit", "verify", "--anchor", json.head.anchor);
    expect(anchored.code, anchored.stderr).toBe(0);
    expect((await cli("audit", "verify", "--anchor", "12:nothex")).code).toBe(2);
  });

  it("exports CSV and JSON lines that parse back to the stored events; --since picks the period", async () => {
    const stored = await r.owner
      .sql`SELECT e.id::int AS id, e.action, e.actor, e.release_id::int AS release_id,
        e.after::text AS after, c.hash FROM audit_events e JOIN audit_chain c ON c.event_id = e.id ORDER BY e.id`;
    const csv = await cli("audit", "export", "--since", "2000-01-01", "--format", "csv");
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stderr).toContain(`${stored.length} audit events`);
    const [header, ...records] = parseCsv(csv.stdout);
    expect(header).toEqual([...AUDIT_EXPORT_COLUMNS]);
    const rows = records.map((rec) => Object.fromEntries(header!.map((h, i) => [h, rec[i]!])));
    expect(rows.map((row) => Number(row.id))).toEqual(stored.map((s) => s.id));
    rows.forEach((row, i) => {
      expect(row).toMatchObject({
        action: stored[i]!.action,
        actor: stored[i]!.actor,
        release_id: stored[i]!.release_id === null ? "" : String(stored[i]!.release_id),
        after: stored[i]!.after ?? "",
        hash: stored[i]!.hash,
      });
    });

    const jsonl = await cli("audit", "export", "--format", "jsonl");
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const lines = jsonl.stdout
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.id)).toEqual(stored.map((s) => s.id));
    const approve = lines.find((l) => l.action === "release.approve")!;
    expect(approve).toMatchObject({
      channel: expect.stringMatching(/^cli/),
      after: { role: "qa", decision: "approve" },
    });

    const future = await cli("audit", "export", "--since", "2999-01-01", "--format", "jsonl");
    expect(future.code).toBe(0);
    expect(future.stdout).toBe("");
    const doc = await cli("audit", "export", "--since", "30d", "--json");
    expect(doc.json<{ count: number; events: unknown[] }>().count).toBe(stored.length);
    expect((await cli("audit", "export", "--since", "last tuesday")).code).toBe(2);
  });

  it("audit verify detects a row the owner edited: exit 3, naming the event", async () => {
    const [target] = await r.owner.sql`SELECT e.id::int AS id, c.seq::int AS seq FROM audit_events e
      JOIN audit_chain c ON c.event_id = e.id WHERE e.action = 'release.approve' ORDER BY e.id LIMIT 1`;
    await r.owner.sql.begin(async (tx) => {
      await tx.unsafe("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update");
      await tx`UPDATE audit_events SET actor = 'mallory' WHERE id = ${target!.id}`;
      await tx.unsafe("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update");
    });
    const res = await cli("audit", "verify");
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(
      `relctl: audit event ${target!.id} (link ${target!.seq}) does not match its hash: it was changed after it was recorded (1 break in `,
    );
    expect(res.stdout).toContain(`audit event ${target!.id} `);
    const json = await cli("audit", "verify", "--json");
    expect(json.code).toBe(3);
    expect(json.json()).toMatchObject({
      error: {
        code: "audit_chain_broken",
        ok: false,
        broken_count: 1,
        broken: [{ problem: "edited", event_id: target!.id }],
      },
    });
    // The runtime role cannot do what the owner did.
    const denied = await r.runtime.sql`UPDATE audit_events SET actor = 'mallory'`.catch((e: Error) => e);
    expect(String(denied)).toContain("permission denied for table audit_events");
  });

  it("db migrate --grant is refused on the embedded database: it has one role", async () => {
    const res = await runCli(
      ["db", "migrate", "--grant", "relctl"],
      { RELCTL_STATE_DIR: `${svc.dir}/.state` },
      svc.dir,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("the embedded database has a single role");
  });
});
