import { LATEST_SCHEMA_VERSION, TokenStore, verifyAuditChain } from "@relctl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  type Harness,
  outboxDrained,
  RELEASE_CHAT,
  startHarness,
  waitFor,
} from "./support/harness.js";
import { addTeam, cardOf, TEAM, toManualTesting } from "./support/release-flow.js";

/**
 * The approvals service on a database it does not own: migrated and granted by an owner role
 * (createPostgresTestDatabase with RELCTL_TEST_PG_AS_RUNTIME=1), the service connects as the
 * runtime role. It starts (the schema is current: no DDL), serves the API and the bot, hears
 * token revocations (LISTEN/NOTIFY), and the audit it writes verifies.
 */
describe("the approvals service as the runtime database role", () => {
  let h: Harness;
  const before = process.env.RELCTL_TEST_PG_AS_RUNTIME;

  beforeAll(async () => {
    process.env.RELCTL_TEST_PG_AS_RUNTIME = "1";
    // A long token cache: only the revocation's announcement can end it in time.
    h = await startHarness({ env: { RELCTL_TOKEN_CACHE_MS: "300000" } });
    await addTeam(h);
  });
  afterAll(async () => {
    await h?.close();
    if (before === undefined) delete process.env.RELCTL_TEST_PG_AS_RUNTIME;
    else process.env.RELCTL_TEST_PG_AS_RUNTIME = before;
  });

  it("connects as a role that owns nothing and is no superuser, and reports the schema current", async () => {
    const [who] = await h.db.db.sql`SELECT current_user AS role, rolsuper,
        (SELECT count(*)::int FROM pg_class WHERE relowner = r.oid) AS owned
      FROM pg_roles r WHERE rolname = current_user`;
    expect(who).toMatchObject({ rolsuper: false, owned: 0 });
    expect(String(who!.role)).toMatch(/_app$/);
    const health = await fetch(`${h.service.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: "ok",
      database: { ok: true, schema_version: LATEST_SCHEMA_VERSION },
    });
  });

  it("runs a release through the API and three Telegram approvals to one dispatch", async () => {
    const id = await toManualTesting(h, "auth", "v1.0.0");
    for (const user of [TEAM.QA, TEAM.DEVOPS, TEAM.LEAD]) {
      await waitFor(() => (cardOf(h, "auth", "v1.0.0")?.buttons.length ?? 0) > 0, 15_000, "the buttons");
      const card = cardOf(h, "auth", "v1.0.0")!;
      const approve = h.telegram.button(RELEASE_CHAT, card.messageId, /Approve/);
      expect(await h.press(user, RELEASE_CHAT, card.messageId, approve)).toBe(200);
      await outboxDrained(h);
    }
    await waitFor(() => h.github.accepted().length === 1, 15_000, "the dispatch");
    const [row] = await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`;
    expect(row!.status).toBe("manual_test_passed");
  });

  it("a revoked token is refused at once: the revocation is announced and heard as the runtime role", async () => {
    const tokens = new TokenStore(h.db.db.sql);
    const { secret } = await tokens.createToken({ name: "ci-roles", services: ["*"] }, ADMIN);
    const get = async () =>
      (await fetch(`${h.service.url}/releases`, { headers: { authorization: `Bearer ${secret}` } })).status;
    expect(await get()).toBe(200);
    expect(await get()).toBe(200);
    await tokens.revokeToken("ci-roles", ADMIN);
    const revokedAt = performance.now();
    while ((await get()) !== 401) expect(performance.now() - revokedAt).toBeLessThan(2_000);
  });

  it("the audit it wrote verifies", async () => {
    // Counted first: the service may still write an event after it (linked by the verify too).
    const [{ n }] = (await h.db.db.sql`SELECT count(*)::int AS n FROM audit_events`) as unknown as [
      { n: number },
    ];
    const report = await verifyAuditChain(h.db.db.sql);
    expect(report.broken).toEqual([]);
    // ok: every event committed by then is linked (an unlinked one counts as a break).
    expect(report.ok).toBe(true);
    expect(report.links).toBeGreaterThanOrEqual(n);
    expect(n).toBeGreaterThan(5);
  });
});
