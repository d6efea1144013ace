import { RunStore } from "@relctl/core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness, waitFor } from "./support/harness.js";

/**
 * A run whose holder died (a CLI killed with -9, a CI runner gone): the release chats hear of it
 * once, and the release's card says the run was interrupted and how to go on.
 */
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { RELCTL_RUN_WATCH_MS: "100" } });
});
afterAll(async () => {
  await h?.close();
});

it("announces a run whose holder stopped beating, once, and the card says what to do", async () => {
  const created = await h.api("POST", "/release", { service: "auth", tag: "v5.0.0" });
  const id = created.body.release_id as number;
  expect((await h.api("PATCH", "/release", { release_id: id, status: "stage_building" })).status).toBe(200);
  await outboxDrained(h);

  // What a killed holder leaves behind: its run still `running`, its lock's heartbeat run out.
  const runs = new RunStore(h.db.db.sql);
  const attempt = await runs.tryAcquireLock({
    service: "auth",
    environment: "stage",
    owner: "carol",
    reason: "deploy v5.0.0",
    leaseMs: 1,
  });
  expect(attempt.acquired).toBe(true);
  const run = await runs.createRun({
    kind: "deploy",
    service: "auth",
    environment: "stage",
    releaseId: id,
    tag: "v5.0.0",
    fromTag: null,
    actor: { user: "carol", channel: "cli" },
  });
  if (attempt.acquired) await runs.setLockRun(attempt.lock, run.id);
  // A live run of another release is not announced.
  const other = await h.api("POST", "/release", { service: "billing", tag: "v1.0.0" });
  const live = await runs.tryAcquireLock({
    service: "billing",
    environment: "stage",
    owner: "dave",
    reason: "deploy v1.0.0",
    leaseMs: 600_000,
  });
  const liveRun = await runs.createRun({
    kind: "deploy",
    service: "billing",
    environment: "stage",
    releaseId: other.body.release_id as number,
    tag: "v1.0.0",
    fromTag: null,
    actor: { user: "dave", channel: "cli" },
  });
  if (live.acquired) await runs.setLockRun(live.lock, liveRun.id);
  await h.db.db.sql`UPDATE runs SET started_at = now() - interval '1 minute'`;

  const notice = await waitFor(
    () =>
      h.telegram
        .sent(RELEASE_CHAT)
        .find((c) => String(c.body.text).includes(`run ${run.id} (deploy to stage) was interrupted`)),
    15_000,
    "the interrupted-run notice",
  );
  expect(String(notice.body.text)).toContain(
    "resume it: relctl deploy auth v5.0.0 --env stage, or roll it back: relctl abort auth --env stage",
  );
  const card = h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v5.0.0"))!;
  expect(card.text).toContain(`⚠️ Run ${run.id} (deploy to stage) interrupted. resume it: relctl deploy auth`);

  // Announced once, however often the watch looks; the live run never.
  await new Promise((r) => setTimeout(r, 600));
  await outboxDrained(h);
  const all = h.telegram.sent(RELEASE_CHAT).map((c) => String(c.body.text));
  expect(all.filter((t) => t.includes("was interrupted"))).toHaveLength(1);
  expect(all.some((t) => t.includes(`run ${liveRun.id}`))).toBe(false);
  const billingCard = h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("billing v1.0.0"))!;
  expect(billingCard.text).not.toContain("interrupted");
});

it("the card of a release whose deploy was rolled back says why (a failed analysis in the canary's bake)", async () => {
  const created = await h.api("POST", "/release", { service: "cart", tag: "v2.0.0" });
  const id = created.body.release_id as number;
  const runs = new RunStore(h.db.db.sql);
  const run = await runs.createRun({
    kind: "deploy",
    service: "cart",
    environment: "stage",
    releaseId: id,
    tag: "v2.0.0",
    fromTag: "v1.0.0",
    actor: { user: "ci", channel: "cli" },
  });
  const why =
    "v2.0.0 failed on stage (analysis: 0.9 above max 0.1 (at 2s of the 60s bake)); rolled back to v1.0.0";
  await runs.finishRun(run.id, "rolled_back", why);
  // The status move refreshes the card.
  expect((await h.api("PATCH", "/release", { release_id: id, status: "stage_building" })).status).toBe(200);
  const card = await waitFor(
    () =>
      h.telegram
        .chatMessages(RELEASE_CHAT)
        .find((m) => m.text.startsWith("cart v2.0.0") && m.text.includes("rolled back:")),
    15_000,
    "the card with the rollback's reason",
  );
  expect(card.text).toContain(`↩️ Run ${run.id} on stage was rolled back: ${why}`);
});
