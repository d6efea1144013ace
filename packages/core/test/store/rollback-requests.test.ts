import { ENGINES, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Actor, DeployRequestStore, RelctlError, ReleaseStore } from "../../src/index.js";

const ci: Actor = { user: "ci", channel: "api" };
const runner: Actor = { user: "deployer", channel: "system" };
const lee: Actor = { user: "lee", channel: "telegram" };
const cli: Actor = { user: "carol", channel: "cli" };

/** One open rollback per service and environment, from every door, until its run ends. */
describe.each(ENGINES)("rollback requests on %s", (_engine, create) => {
  let t: TestDatabase;
  let store: ReleaseStore;
  let requests: DeployRequestStore;
  let n = 0;

  beforeAll(async () => {
    t = await create();
    store = new ReleaseStore(t.db.sql);
    requests = new DeployRequestStore(t.db.sql);
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function deployed(): Promise<{ service: string; id: number }> {
    const service = `svc-${++n}`;
    const { release } = await store.createRelease({ service, tag: "v2" }, ci);
    await t.db.sql`UPDATE releases SET status = 'deployed' WHERE id = ${release.id}`;
    return { service, id: release.id };
  }
  const refusal = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RelctlError);
    return err as RelctlError;
  };

  it("a dispatched rollback stays open until the workflow reports rollback_done; every other request names it", async () => {
    const { service, id } = await deployed();
    const first = await requests.requestRollback({ releaseId: id, service, toTag: "v1" }, lee);
    const claimed = await requests.claim("w1");
    expect(claimed?.id).toBe(first.id);
    await requests.finish(claimed!, "w1", { state: "dispatched" });

    const again = await refusal(requests.requestRollback({ releaseId: id, service, toTag: "v1" }, ci));
    expect(again.code).toBe("rollback_in_progress");
    expect(again.message).toMatch(
      new RegExp(
        `a rollback of ${service} to v1 is under way on production, requested by lee at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`,
      ),
    );
    // relctl rollback is refused the same way, before it touches anything.
    const byHand = await refusal(
      requests.openRollback({ releaseId: id, service, environment: "production", toTag: "v1" }, cli),
    );
    expect(byHand.code).toBe("rollback_in_progress");

    await store.transition(id, "production_rollback", "runbook", runner, { rollbackToTag: "v1" });
    expect((await requests.openRollbackOf(service, "production"))?.state).toBe("dispatched");
    await store.transition(id, "rollback_done", "runbook", runner);
    expect(await requests.openRollbackOf(service, "production")).toBeUndefined();
    const [row] = await t.db.sql`SELECT state FROM deploy_requests WHERE id = ${first.id}`;
    expect(row!.state).toBe("done");
    const actions = (await store.listAudit({ releaseId: id })).map((e) => e.action);
    expect(actions).toEqual(
      expect.arrayContaining(["rollback.request", "rollback.dispatched", "rollback.done"]),
    );
  });

  it("a rollback run by relctl is open while it runs, and a dispatched one that stops reporting turns unknown, never re-run", async () => {
    const { service, id } = await deployed();
    const run = await requests.openRollback(
      { releaseId: id, service, environment: "production", toTag: "v1" },
      cli,
    );
    const fromChat = await refusal(requests.requestRollback({ releaseId: id, service, toTag: "v1" }, lee));
    expect(fromChat.message).toContain("requested by carol");
    expect(await requests.claim("w2")).toBeUndefined();
    await run.finish(false, "health failed");
    expect(await requests.openRollbackOf(service, "production")).toBeUndefined();

    const next = await requests.requestRollback({ releaseId: id, service, toTag: "v1" }, lee);
    const claimed = await requests.claim("w2");
    expect(claimed?.id).toBe(next.id);
    await requests.finish(claimed!, "w2", { state: "dispatched" });
    await t.db
      .sql`UPDATE deploy_requests SET heartbeat_at = now() - interval '2 hours' WHERE id = ${next.id}`;
    const expired = await requests.expireStale(120_000);
    expect(expired.map((r) => r.id)).toEqual([next.id]);
    const [row] = await t.db.sql`SELECT state, last_error FROM deploy_requests WHERE id = ${next.id}`;
    expect(row).toMatchObject({
      state: "unknown",
      last_error: expect.stringMatching(/has not reported its end/),
    });
    expect(await requests.claim("w3")).toBeUndefined();
  });
});
