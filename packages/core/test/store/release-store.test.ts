import { ENGINES, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  type ApprovalPolicy,
  DEFAULT_APPROVAL_POLICY,
  LATEST_SCHEMA_VERSION,
  RelctlError,
  ReleaseStore,
  readStoreSchemaVersion,
  runStoreMigrations,
} from "../../src/index.js";

const dev: Actor = { user: "dev", channel: "cli" };
const as = (user: string): Actor => ({ user, channel: "cli" });

describe.each(ENGINES)("release store on %s", (_engine, create) => {
  let t: TestDatabase;
  let store: ReleaseStore;
  let n = 0;
  const service = () => `svc-${++n}`;

  beforeAll(async () => {
    t = await create();
    store = new ReleaseStore(t.db.sql);
  });
  afterAll(async () => {
    await t?.drop();
  });

  /** The release row and its audit trail, to prove a refused call changed nothing. */
  async function footprint(id: number) {
    const [row] = await t.db.sql`SELECT * FROM releases WHERE id = ${id}`;
    const audit = await t.db.sql`SELECT id FROM audit_events WHERE release_id = ${id} ORDER BY id`;
    const approvals = await t.db.sql`SELECT id FROM approvals WHERE release_id = ${id} ORDER BY id`;
    return { row: { ...row }, audit: audit.map((a) => a.id), approvals: approvals.map((a) => a.id) };
  }

  async function inManualTesting(svc = service()) {
    const { release } = await store.createRelease({ service: svc, tag: "v1.0.0" }, dev);
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await store.transition(release.id, s, "runbook", dev);
    return release.id;
  }

  async function expectRefused(id: number, fn: () => Promise<unknown>, code: string) {
    const before = await footprint(id);
    const err = await fn().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RelctlError);
    expect((err as RelctlError).code).toBe(code);
    expect((err as Error).message).not.toContain("\n");
    expect(await footprint(id)).toEqual(before);
  }

  it("migrates forward once, and again is a no-op", async () => {
    expect(await readStoreSchemaVersion(t.db.sql)).toBe(LATEST_SCHEMA_VERSION);
    expect(await runStoreMigrations(t.db.sql)).toEqual([]);
  });

  it("creates a release as initiated with an audit event", async () => {
    const svc = service();
    const { release, created } = await store.createRelease(
      { service: svc, tag: "v1.0.0", githubRef: "refs/tags/v1.0.0" },
      dev,
    );
    expect(created).toBe(true);
    expect(release).toMatchObject({
      service: svc,
      tag: "v1.0.0",
      status: "initiated",
      initiatedBy: "dev",
      githubRef: "refs/tags/v1.0.0",
    });
    const audit = await store.listAudit({ releaseId: release.id });
    expect(audit.map((a) => [a.action, a.actor, a.channel])).toEqual([["release.create", "dev", "cli"]]);
  });

  it("returns the existing release for the same (service, tag), even under 50 concurrent calls", async () => {
    const svc = service();
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.createRelease({ service: svc, tag: "v2.0.0" }, as(`u${i}`))),
    );
    const [{ count }] = (await t.db
      .sql`SELECT count(*)::int AS count FROM releases WHERE service_name = ${svc}`) as unknown as [
      { count: number },
    ];
    expect(count).toBe(1);
    expect(new Set(results.map((r) => r.release.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it("refuses bad names before writing anything", async () => {
    const before = await t.db.sql`SELECT count(*)::int AS c FROM releases`;
    await expect(store.createRelease({ service: "Auth Service", tag: "v1" }, dev)).rejects.toThrow(
      /service: "Auth Service"/,
    );
    await expect(store.createRelease({ service: "auth", tag: "v1;$(id)" }, dev)).rejects.toThrow(
      /tag: "v1;\$\(id\)"/,
    );
    expect(await t.db.sql`SELECT count(*)::int AS c FROM releases`).toEqual(before);
  });

  it("moves statuses only along the table, each move audited with before/after", async () => {
    const { release } = await store.createRelease({ service: service(), tag: "v1.0.0" }, dev);
    const moved = await store.transition(release.id, "stage_building", "runbook", as("ci"));
    expect(moved.status).toBe("stage_building");
    expect(moved.startedAt).toBeInstanceOf(Date);
    await expectRefused(
      release.id,
      () => store.transition(release.id, "deployed", "runbook", dev),
      "illegal_transition",
    );
    const audit = await store.listAudit({ releaseId: release.id });
    expect(audit.at(-1)).toMatchObject({
      action: "release.status",
      actor: "ci",
      before: { status: "initiated" },
      after: { status: "stage_building" },
    });
    const failed = await store.transition(release.id, "stage_building_failed", "runbook", dev);
    expect(failed.completedAt).toBeInstanceOf(Date);
  });

  it("records QA, DevOps, Lead in order and passes the release", async () => {
    const id = await inManualTesting();
    await store.decide(id, { role: "qa", decision: "approve" }, DEFAULT_APPROVAL_POLICY, as("quinn"));
    await store.decide(id, { role: "devops", decision: "approve" }, DEFAULT_APPROVAL_POLICY, as("dora"));
    const last = await store.decide(
      id,
      { role: "lead", decision: "approve" },
      DEFAULT_APPROVAL_POLICY,
      as("lee"),
    );
    expect(last.completed).toBe(true);
    expect(last.release.status).toBe("manual_test_passed");
    expect(last.release.approvedList.map((a) => [a.role, a.user])).toEqual([
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ]);
    const actions = (await store.listAudit({ releaseId: id })).map((a) => `${a.action}:${a.actor}`);
    expect(actions.slice(-4)).toEqual([
      "release.approve:quinn",
      "release.approve:dora",
      "release.approve:lee",
      "release.status:lee",
    ]);
  });

  it("refuses out-of-order, self, double approvals and wrong status, changing nothing", async () => {
    const id = await inManualTesting();
    const p = DEFAULT_APPROVAL_POLICY;
    await expectRefused(
      id,
      () => store.decide(id, { role: "lead", decision: "approve" }, p, as("lee")),
      "out_of_order",
    );
    await expectRefused(
      id,
      () => store.decide(id, { role: "qa", decision: "approve" }, p, dev),
      "self_approval",
    );
    await store.decide(id, { role: "qa", decision: "approve" }, p, as("quinn"));
    await expectRefused(
      id,
      () => store.decide(id, { role: "devops", decision: "approve" }, p, as("quinn")),
      "already_approved",
    );
    const fresh = (await store.createRelease({ service: service(), tag: "v1.0.0" }, dev)).release.id;
    await expectRefused(
      fresh,
      () => store.decide(fresh, { role: "qa", decision: "approve" }, p, as("quinn")),
      "not_awaiting_approval",
    );
    await expect(
      store.decide(999_999, { role: "qa", decision: "approve" }, p, as("quinn")),
    ).rejects.toMatchObject({
      code: "release_not_found",
    });
  });

  it("ends the release on a rejection, keeping who and why", async () => {
    const id = await inManualTesting();
    const r = await store.decide(
      id,
      { role: "devops", decision: "reject", reason: "login broken" },
      DEFAULT_APPROVAL_POLICY,
      as("dora"),
    );
    expect(r.release.status).toBe("manual_test_failed");
    expect(r.approval).toMatchObject({ user: "dora", decision: "reject", reason: "login broken" });
  });

  it("records exactly as many approvals as the policy needs when 20 people press at once", async () => {
    const id = await inManualTesting();
    const policy: ApprovalPolicy = {
      roles: [{ role: "qa", count: 3 }],
      order: "sequential",
      allowSelfApproval: false,
    };
    const settled = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        store.decide(id, { role: "qa", decision: "approve" }, policy, as(`qa${i}`)),
      ),
    );
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(3);
    const rows = await t.db.sql`SELECT count(*)::int AS c FROM approvals WHERE release_id = ${id}`;
    expect(rows[0]!.c).toBe(3);
    expect((await store.requireRelease(id)).status).toBe("manual_test_passed");
    for (const s of settled)
      if (s.status === "rejected")
        expect((s.reason as RelctlError).code).toMatch(/role_complete|not_awaiting_approval/);
  });

  it("refuses UPDATE, DELETE and TRUNCATE of the audit log in the database itself", async () => {
    await inManualTesting();
    await expect(t.db.sql`UPDATE audit_events SET actor = 'mallory'`).rejects.toThrow(/append-only/);
    await expect(t.db.sql`DELETE FROM audit_events`).rejects.toThrow(/append-only/);
    await expect(t.db.sql`TRUNCATE audit_events CASCADE`).rejects.toThrow(/append-only/);
    const [{ c }] = (await t.db
      .sql`SELECT count(*)::int AS c FROM audit_events WHERE actor = 'mallory'`) as unknown as [
      { c: number },
    ];
    expect(c).toBe(0);
  });

  it("lists releases by menu group and service", async () => {
    const svc = service();
    const a = await inManualTesting(svc);
    const b = (await store.createRelease({ service: svc, tag: "v0.1.0" }, dev)).release.id;
    await store.transition(b, "stage_building_failed", "runbook", dev);
    expect((await store.listReleases({ service: svc, group: "active" })).map((r) => r.id)).toEqual([a]);
    expect((await store.listReleases({ service: svc, group: "failed" })).map((r) => r.id)).toEqual([b]);
    expect(await store.listReleases({ service: svc, group: "successful" })).toEqual([]);
  });
});
