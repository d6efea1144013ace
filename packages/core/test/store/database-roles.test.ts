import { createPostgresRolesTestDatabase, type RolesTestDatabase } from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  acquireLockByHand,
  DEFAULT_APPROVAL_POLICY,
  DeployRequestStore,
  decideRelease,
  defaultConfig,
  grantRuntimeRole,
  MemberStore,
  OutboxStore,
  RelctlError,
  ReleaseStore,
  RUNTIME_TABLE_PRIVILEGES,
  RunStore,
  readMetricsSnapshot,
  relctlTables,
  releaseLockByHand,
  reportEffectiveness,
  runStoreMigrations,
  TokenStore,
  verifyAuditChain,
} from "../../src/index.js";

const dev: Actor = { user: "dev", channel: "cli" };
const as = (user: string): Actor => ({ user, channel: "cli" });

/**
 * relctl with two database roles: an owner that migrated the schema and owns it, and the runtime
 * role relctl runs as, granted what the stores need. The audit cannot be rewritten by the runtime
 * role, and everything relctl does works as it.
 */
describe("two database roles on PostgreSQL", () => {
  let r: RolesTestDatabase;
  beforeAll(async () => {
    r = await createPostgresRolesTestDatabase("relctl_roles");
  });
  afterAll(async () => {
    await r?.drop();
  });

  it("the owner owns every table, sequence and function; the runtime role owns nothing", async () => {
    const owned = await r.owner.sql`
      SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'S', 'v')`;
    expect(owned.length).toBeGreaterThan(20);
    expect(new Set(owned.map((o) => o.owner))).toEqual(new Set([r.ownerRole]));
    const functions = await r.owner.sql`
      SELECT proname, pg_get_userbyid(proowner) AS owner, prosecdef FROM pg_proc
      WHERE pronamespace = current_schema()::regnamespace`;
    expect(functions.map((f) => f.proname)).toEqual(
      expect.arrayContaining(["relctl_audit_append_only", "relctl_audit_chain_link"]),
    );
    expect(new Set(functions.map((f) => f.owner))).toEqual(new Set([r.ownerRole]));
    // The chain's trigger runs as the owner: it writes a table the runtime role cannot.
    expect(functions.find((f) => f.proname === "relctl_audit_chain_link")?.prosecdef).toBe(true);
    const [{ n }] = (await r.runtime.sql`
      SELECT count(*)::int AS n FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)`) as unknown as [
      { n: number },
    ];
    expect(n).toBe(0);
  });

  it("every table has its runtime grants, exactly those; sequences USAGE only", async () => {
    const tables = await relctlTables(r.owner.sql);
    expect(tables.filter((t) => !(t in RUNTIME_TABLE_PRIVILEGES))).toEqual([]);
    const grants = await r.owner.sql`
      SELECT table_name, privilege_type FROM information_schema.role_table_grants
      WHERE grantee = ${r.runtimeRole} AND table_schema = current_schema()`;
    const byTable = new Map<string, string[]>();
    for (const g of grants)
      byTable.set(g.table_name, [...(byTable.get(g.table_name) ?? []), g.privilege_type]);
    for (const table of tables) {
      expect([...(byTable.get(table) ?? [])].sort(), table).toEqual(
        [...RUNTIME_TABLE_PRIVILEGES[table]!].sort(),
      );
    }
    expect(byTable.get("audit_events")!.sort()).toEqual(["INSERT", "SELECT"]);
    expect(byTable.get("audit_chain")).toEqual(["SELECT"]);
    const sequences = await r.runtime.sql`
      SELECT c.relname, has_sequence_privilege(c.oid, 'USAGE') AS usage, has_sequence_privilege(c.oid, 'UPDATE') AS update
      FROM pg_class c WHERE c.relkind = 'S' AND c.relnamespace = current_schema()::regnamespace`;
    expect(sequences.length).toBeGreaterThan(5);
    for (const s of sequences)
      expect({ seq: s.relname, usage: s.usage, update: s.update }).toEqual({
        seq: s.relname,
        usage: true,
        update: false,
      });
  });

  it("as the runtime role, UPDATE, DELETE, TRUNCATE, ALTER TABLE and DROP TRIGGER on the audit fail", async () => {
    const store = new ReleaseStore(r.runtime.sql);
    const { release } = await store.createRelease({ service: "guarded", tag: "v1.0.0" }, dev);
    const before = {
      events: await r.owner.sql`SELECT * FROM audit_events ORDER BY id`,
      chain: await r.owner.sql`SELECT * FROM audit_chain ORDER BY seq`,
    };
    const refused: [string, RegExp][] = [
      ["UPDATE audit_events SET actor = 'mallory'", /permission denied for table audit_events/],
      [
        `DELETE FROM audit_events WHERE release_id = ${release.id}`,
        /permission denied for table audit_events/,
      ],
      ["TRUNCATE audit_events", /permission denied for table audit_events/],
      ["TRUNCATE audit_events CASCADE", /permission denied for table audit_events/],
      [
        "ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update",
        /must be owner of table audit_events/,
      ],
      ["ALTER TABLE audit_events DISABLE TRIGGER ALL", /must be owner of table audit_events/],
      ["ALTER TABLE audit_events ADD COLUMN note text", /must be owner of table audit_events/],
      ["ALTER TABLE audit_events OWNER TO CURRENT_USER", /must be owner of table audit_events/],
      [
        "DROP TRIGGER audit_events_no_update ON audit_events",
        /must be owner of (relation|table) audit_events/,
      ],
      ["DROP TRIGGER audit_events_chain ON audit_events", /must be owner of (relation|table) audit_events/],
      ["DROP TABLE audit_events CASCADE", /must be owner of table audit_events/],
      [
        "CREATE OR REPLACE FUNCTION relctl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$",
        /must be owner of function|permission denied for schema/,
      ],
      ["SET session_replication_role = replica", /permission denied to set parameter/],
      [
        "INSERT INTO audit_chain (seq, event_id, prev_hash, hash) VALUES (999999, 1, 'a', 'b')",
        /permission denied for table audit_chain/,
      ],
      ["UPDATE audit_chain SET hash = 'x'", /permission denied for table audit_chain/],
      ["DELETE FROM audit_chain", /permission denied for table audit_chain/],
      ["TRUNCATE audit_chain", /permission denied for table audit_chain/],
      ["ALTER TABLE audit_chain DISABLE TRIGGER ALL", /must be owner of table audit_chain/],
      ["SELECT setval('audit_events_id_seq', 1)", /permission denied for sequence audit_events_id_seq/],
      ["CREATE TABLE audit_events_copy (id int)", /permission denied for schema public/],
      ["TRUNCATE releases CASCADE", /permission denied for table releases/],
      ["DELETE FROM releases", /permission denied for table releases/],
      ["DELETE FROM approvals", /permission denied for table approvals/],
    ];
    for (const [statement, error] of refused) {
      await expect(r.runtime.sql.unsafe(statement), statement).rejects.toThrow(error);
    }
    expect(await r.owner.sql`SELECT * FROM audit_events ORDER BY id`).toEqual(before.events);
    expect(await r.owner.sql`SELECT * FROM audit_chain ORDER BY seq`).toEqual(before.chain);
    expect((await verifyAuditChain(r.runtime.sql)).ok).toBe(true);
  });

  it("a whole release and everything around it works as the runtime role, and the chain verifies", async () => {
    const sql = r.runtime.sql;
    const releases = new ReleaseStore(sql);
    const runs = new RunStore(sql);
    const deployRequests = new DeployRequestStore(sql);
    const members = new MemberStore(sql);
    const tokens = new TokenStore(sql);
    const outbox = new OutboxStore(sql);

    // The approvals service's setup: members, a release chat, a token.
    for (const [id, name, role] of [
      [201, "quinn", "qa"],
      [202, "dora", "devops"],
      [203, "lee", "lead"],
      [204, "temp", "qa"],
    ] as const)
      await members.writeMember({ telegramId: id, name, roles: [role] }, as("admin"));
    await members.removeMember(204, as("admin"));
    await outbox.writeChat({ chatId: -100, receivesReleases: true, receivesAlerts: true });

    // Token revocations are announced (NOTIFY) and heard (LISTEN) as the runtime role.
    const heard: string[] = [];
    const listener = postgres(r.runtimeUrl, { max: 1, onnotice: () => {} });
    await listener.listen("relctl_token_revoked", (payload) => heard.push(payload));
    const { token, secret } = await tokens.createToken({ name: "ci", services: ["flow"] }, as("admin"));
    expect((await tokens.findActiveToken(secret))?.id).toBe(token.id);
    await tokens.revokeToken("ci", as("admin"));
    for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(heard).toEqual([String(token.id)]);
    await listener.end();

    // Stage: a run with its steps, the deploy lock, the deployment.
    const { release } = await releases.createRelease({ service: "flow", tag: "v1.0.0" }, dev);
    const attempt = await runs.tryAcquireLock({
      service: "flow",
      environment: "stage",
      owner: "dev",
      reason: "release",
      leaseMs: 30_000,
    });
    expect(attempt.acquired).toBe(true);
    if (!attempt.acquired) return;
    const run = await runs.createRun({
      kind: "deploy",
      service: "flow",
      environment: "stage",
      releaseId: release.id,
      tag: "v1.0.0",
      fromTag: null,
      actor: dev,
    });
    await runs.setLockRun(attempt.lock, run.id);
    expect(await runs.renewLock(attempt.lock, 30_000)).toBe(true);
    await runs.setHostLockToken(run.id, "token-1");
    for (const s of ["stage_building", "stage_test_rollback"] as const)
      await releases.transition(release.id, s, "runbook", dev);
    await runs.recordStep({
      runId: run.id,
      host: "web-1",
      step: "build",
      title: "build",
      argv: ["npm", "ci"],
      exitCode: 0,
      timedOut: false,
      connectionLost: false,
      durationMs: 12,
      outputTail: "ok",
      ok: true,
      startedAt: new Date(),
    });
    await runs.recordDeployment({
      service: "flow",
      environment: "stage",
      releaseId: release.id,
      tag: "v1.0.0",
      schemaVersion: "1",
      runId: run.id,
      previousState: "superseded",
    });
    await runs.finishRun(run.id, "succeeded");
    await runs.releaseLock(attempt.lock);
    await releases.transition(release.id, "manual_testing", "runbook", dev);

    // The three approvals; the last one requests the production deploy in its transaction.
    const ports = {
      releases,
      deployRequests,
      configFor: async (service: string) => defaultConfig(service),
    };
    let outcome: Awaited<ReturnType<typeof decideRelease>> | undefined;
    for (const [role, user] of [
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ] as const)
      outcome = await decideRelease(ports, {
        releaseId: release.id,
        decision: "approve",
        role,
        actor: as(user),
      });
    expect(outcome!.completed).toBe(true);
    expect(outcome!.release.status).toBe("manual_test_passed");
    expect(DEFAULT_APPROVAL_POLICY.roles.length).toBe(3);

    // The deploy worker claims the request, beats and finishes it.
    const request = await deployRequests.claim("worker-1");
    expect(request?.releaseId).toBe(release.id);
    await deployRequests.heartbeat(request!, "worker-1");
    for (const s of ["deploying", "deployed"] as const)
      await releases.transition(release.id, s, "runbook", dev);
    await deployRequests.finish(request!, "worker-1", { state: "done" });

    // The outbox the audit trigger filled is sent.
    const items = await outbox.claim(50, 30_000);
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) await outbox.markSent(item);
    await outbox.pruneDone(0);

    // A hold after a rollback, acknowledged; a lock by hand, released.
    await runs.placeHold({
      service: "flow",
      environment: "production",
      reason: "rolled back",
      releaseId: release.id,
      by: "dev",
    });
    expect(await runs.acknowledgeHold("flow", "production", "lee")).toBeDefined();
    const lockPorts = { runs, audit: releases };
    await acquireLockByHand(
      lockPorts,
      { service: "flow", environment: "production", reason: "incident 42" },
      dev,
    );
    await releaseLockByHand(lockPorts, { service: "flow", environment: "production" }, dev);

    // Reads: metrics and the report.
    const metrics = await readMetricsSnapshot(sql, { statementTimeoutMs: 5_000 });
    expect(metrics).toBeDefined();
    const report = await reportEffectiveness(sql, { since: "30d" });
    expect(report.releases.finished).toBeGreaterThanOrEqual(1);

    const chain = await verifyAuditChain(sql);
    expect(chain.broken).toEqual([]);
    const [{ n }] = (await sql`SELECT count(*)::int AS n FROM audit_events`) as unknown as [{ n: number }];
    expect(chain).toMatchObject({ ok: true, links: n });
  });

  it("at start-up the runtime role finds the schema current and changes nothing; with a migration pending it says how to migrate", async () => {
    expect(await runStoreMigrations(r.runtime.sql)).toEqual([]);
    const [row] = await r.owner.sql`DELETE FROM relctl_schema_migrations WHERE version = 14 RETURNING *`;
    try {
      const err = await runStoreMigrations(r.runtime.sql).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RelctlError);
      expect(err).toMatchObject({ code: "schema_not_migrated", kind: "state" });
      expect((err as Error).message).toContain(`the role ${r.runtimeRole} may not migrate it`);
      expect((err as Error).message).toContain("migrations 14 are pending");
      expect((err as RelctlError).hint).toContain("relctl db migrate --owner-url");
    } finally {
      await r.owner.sql`INSERT INTO relctl_schema_migrations ${r.owner.sql(row!)}`;
    }
    expect(await runStoreMigrations(r.runtime.sql)).toEqual([]);
  });

  it("on an empty database the runtime role refuses to migrate; the owner migrates and grants", async () => {
    const empty = await createPostgresRolesTestDatabase("relctl_roles_empty", { migrate: false });
    try {
      await expect(runStoreMigrations(empty.runtime.sql)).rejects.toMatchObject({
        code: "schema_not_migrated",
      });
      expect((await empty.owner.sql`SELECT to_regclass('releases') AS t`)[0]!.t).toBeNull();
      await runStoreMigrations(empty.owner.sql);
      const statements = await grantRuntimeRole(empty.owner.sql, empty.runtimeRole);
      expect(statements).toContain(
        `GRANT SELECT, INSERT ON TABLE "public".audit_events TO "${empty.runtimeRole}"`,
      );
      // Again (after an upgrade): the same statements, the same grants.
      expect(await grantRuntimeRole(empty.owner.sql, empty.runtimeRole)).toEqual(statements);
      expect(await runStoreMigrations(empty.runtime.sql)).toEqual([]);
      const { release } = await new ReleaseStore(empty.runtime.sql).createRelease(
        { service: "e", tag: "v1.0.0" },
        dev,
      );
      expect(release.id).toBeGreaterThan(0);
    } finally {
      await empty.drop();
    }
  });

  it("refuses to grant the owner, a superuser or a role that does not exist", async () => {
    await expect(grantRuntimeRole(r.owner.sql, r.ownerRole)).rejects.toMatchObject({
      code: "role_owns_schema",
    });
    await expect(grantRuntimeRole(r.owner.sql, "postgres")).rejects.toMatchObject({
      code: "role_owns_schema",
    });
    await expect(grantRuntimeRole(r.owner.sql, "relctl_no_such_role")).rejects.toMatchObject({
      code: "role_not_found",
    });
    await expect(grantRuntimeRole(r.owner.sql, 'x"; DROP TABLE releases; --')).rejects.toMatchObject({
      code: "invalid_role",
    });
  });
});
