import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  DEFAULT_APPROVAL_POLICY,
  DeployRequestStore,
  OutboxStore,
  ReleaseStore,
} from "../../src/index.js";

const ci: Actor = { user: "ci", channel: "api" };

describe("deploy requests and the chat outbox on PostgreSQL", () => {
  let t: TestDatabase;
  let store: ReleaseStore;
  let deploys: DeployRequestStore;
  let outbox: OutboxStore;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_outbox");
    store = new ReleaseStore(t.db.sql);
    deploys = new DeployRequestStore(t.db.sql);
    outbox = new OutboxStore(t.db.sql);
    await outbox.writeChat({ chatId: -1, receivesReleases: true });
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function approvedUpToLead(tag: string) {
    const { release } = await store.createRelease({ service: "auth", tag }, ci);
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await store.transition(release.id, s, "runbook", ci);
    await store.decide(release.id, { role: "qa", decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user: "q",
      channel: "cli",
    });
    await store.decide(release.id, { role: "devops", decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user: "d",
      channel: "cli",
    });
    return release.id;
  }

  it("writes the deploy request in the approval's transaction: rolled back with it, once when it commits", async () => {
    const id = await approvedUpToLead("v1.0.0");
    const lead: Actor = { user: "l", channel: "telegram" };
    await expect(
      store.decide(id, { role: "lead", decision: "approve" }, DEFAULT_APPROVAL_POLICY, lead, {
        onDecided: async (tx, r) => {
          if (r.completed) await deploys.requestDeploy(tx, { releaseId: id, service: "auth" }, lead);
          throw new Error("crash before commit");
        },
      }),
    ).rejects.toThrow("crash before commit");
    expect(await deploys.listRequests({ releaseId: id })).toEqual([]);
    expect((await store.requireRelease(id)).status).toBe("manual_testing");

    const results = await Promise.allSettled(
      ["l", "l2", "l3"].map((user) =>
        store.decide(
          id,
          { role: "lead", decision: "approve" },
          DEFAULT_APPROVAL_POLICY,
          { user, channel: "telegram" },
          {
            onDecided: async (tx, r) => {
              if (r.completed)
                await deploys.requestDeploy(
                  tx,
                  { releaseId: id, service: "auth" },
                  { user, channel: "telegram" },
                );
            },
          },
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await deploys.listRequests({ releaseId: id })).toMatchObject([
      { kind: "deploy", state: "pending" },
    ]);
  });

  it("lets only one of many workers claim a request (FOR UPDATE SKIP LOCKED)", async () => {
    const workers = Array.from({ length: 8 }, (_, i) => `w${i}`);
    const claims = await Promise.all(workers.map((w) => deploys.claim(w)));
    const winner = claims.findIndex((c) => c !== undefined);
    expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
    // Only the claiming worker can finish it.
    await deploys.finish(claims[winner]!, "someone-else", { state: "done" });
    expect((await deploys.listRequests())[0]!.state).toBe("running");
    await deploys.finish(claims[winner]!, workers[winner]!, { state: "done" });
    expect((await deploys.listRequests())[0]!.state).toBe("done");
  });

  it("marks a request whose worker died as unknown, never re-running it", async () => {
    const id = await approvedUpToLead("v1.0.1");
    await t.db.sql.begin(async (tx) => {
      await deploys.requestDeploy(tx, { releaseId: id, service: "auth" }, ci);
    });
    const claimed = await deploys.claim("dead-worker");
    expect(claimed).toBeDefined();
    await t.db
      .sql`UPDATE deploy_requests SET heartbeat_at = now() - interval '1 hour' WHERE id = ${claimed!.id}`;
    const expired = await deploys.expireStale(60_000);
    expect(expired.map((r) => r.id)).toEqual([claimed!.id]);
    expect(await deploys.claim("another")).toBeUndefined();
    const notice = await t.db
      .sql`SELECT payload FROM outbox WHERE event_key = ${`deploy-request:${claimed!.id}:unknown`}`;
    expect(notice[0]!.payload).toMatchObject({ notice: "deploy_unknown" });
  });

  it("queues every audited release change for the release chats in its transaction, and claims one row per chat in order", async () => {
    await t.db.sql`DELETE FROM outbox`;
    const { release } = await store.createRelease({ service: "pay", tag: "v1" }, ci);
    await store.transition(release.id, "stage_building", "runbook", ci);
    await expect(store.transition(release.id, "deployed", "runbook", ci)).rejects.toThrow();
    const rows = await t.db.sql`SELECT chat_id, kind, release_id FROM outbox ORDER BY id`;
    expect(rows.map((r) => `${r.chat_id}:${r.kind}:${r.release_id}`)).toEqual([
      `-1:release_event:${release.id}`,
      `-1:release_event:${release.id}`,
    ]);
    const first = await outbox.claim(10, 60_000);
    expect(first).toHaveLength(1);
    expect(await outbox.claim(10, 60_000)).toEqual([]);
    expect(await outbox.markSent(first[0]!)).toBe(true);
    expect(await outbox.markSent(first[0]!)).toBe(false);
    const second = await outbox.claim(10, 60_000);
    expect(second.map((i) => i.id)).toEqual([first[0]!.id + 1]);
  });
});
