import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness, waitFor } from "./support/harness.js";
import { addTeam, cardOf, TEAM, toManualTesting } from "./support/release-flow.js";
import { seedDeployed } from "./support/seed-releases.js";

const { QA, DEVOPS, LEAD } = TEAM;
const DEPLOY_RUN = "https://github.com/acme/auth/actions/runs/501";
const ROLLBACK_RUN = "https://github.com/acme/auth/actions/runs/502";
/** A history line: date, time and time zone first. */
const STAMP = /^\d{4}-\d\d-\d\d \d\d:\d\d UTC /;

/**
 * One card per release carries its whole story: every change edits it in place, and only what
 * someone must act on or know at once is a message of its own, a reply to the card that rings.
 */
describe("the release card tells the whole story", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await addTeam(h);
    // An earlier version production can go back to.
    await seedDeployed(h.service.deps.store, "auth", "v1.0.0");
    await outboxDrained(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const card = (tag: string) => cardOf(h, "auth", tag)!;
  const cardsOf = (tag: string) =>
    h.telegram.chatMessages(RELEASE_CHAT).filter((m) => m.text.startsWith(`auth ${tag} — #`));
  const patch = async (id: number, status: string, link?: string) => {
    const r = await h.api("PATCH", "/release", {
      release_id: id,
      status,
      ...(link ? { github_action_link: link } : {}),
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  };
  const press = async (user: number, label: RegExp, messageId = card("v2.0.0").messageId) => {
    await waitFor(
      () =>
        h.telegram.messages
          .get(`${RELEASE_CHAT}:${messageId}`)
          ?.buttons.flat()
          .some((b) => label.test(b.text)),
      15_000,
      `the ${label} button`,
    );
    expect(
      await h.press(user, RELEASE_CHAT, messageId, h.telegram.button(RELEASE_CHAT, messageId, label)),
    ).toBe(200);
  };

  it("created → stage → approvals → production → rollback: one card, edited; one ringing reply", async () => {
    const sentBefore = h.telegram.sent(RELEASE_CHAT).length;
    const id = await toManualTesting(h, "auth", "v2.0.0", { github_action_link: DEPLOY_RUN });
    for (const user of [QA, DEVOPS, LEAD]) {
      await press(user, /Approve/);
      await outboxDrained(h);
    }
    await waitFor(() => h.github.accepted().length === 1, 15_000, "the deploy dispatch");
    await waitFor(() => card("v2.0.0").text.includes("production deploy started"), 15_000, "deploy started");
    // The deploy workflow reports as it goes.
    await patch(id, "deploying");
    await patch(id, "deployed");
    await outboxDrained(h);
    await waitFor(() => card("v2.0.0").text.includes("Status: deployed"), 15_000, "deployed");

    // A lead rolls production back from the card; the rollback workflow reports its run.
    await press(LEAD, /Rollback/);
    const picker = await waitFor(
      () =>
        h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("Roll back auth from v2.0.0")),
      15_000,
      "the picker",
    );
    await press(LEAD, /^v1\.0\.0$/, picker.messageId);
    await press(LEAD, /Yes, roll back/, picker.messageId);
    await waitFor(
      async () =>
        (await h.db.db.sql`SELECT 1 FROM deploy_requests WHERE kind = 'rollback' AND state = 'dispatched'`)
          .length === 1,
      15_000,
      "the rollback dispatched",
    );
    expect(h.github.accepted()[1]).toMatchObject({ workflow: "rollback.yml" });
    expect(h.github.runs.map((r) => r.workflow)).toEqual(["production.yml", "rollback.yml"]);
    await outboxDrained(h);
    await patch(id, "production_rollback", ROLLBACK_RUN);
    await patch(id, "rollback_done");
    await outboxDrained(h);
    await waitFor(() => card("v2.0.0").text.includes("Status: rolled back"), 15_000, "rolled back");

    // Exactly one card for the release in the chat, edited in place at every step.
    expect(cardsOf("v2.0.0")).toHaveLength(1);
    const c = card("v2.0.0");
    expect(c.edits).toBeGreaterThanOrEqual(5);
    // Sent in the chat since: the card (silently), the one reply that rings, and the rollback
    // picker the lead asked for. No other notice.
    const sent = h.telegram.sent(RELEASE_CHAT).slice(sentBefore);
    expect(sent.map((s) => String(s.body.text).split("\n")[0])).toEqual([
      `auth v2.0.0 — #${id}`,
      "🧪 auth v2.0.0 is ready for manual testing",
      "Roll back auth from v2.0.0 to which version?",
    ]);
    expect(sent[0]!.body).toMatchObject({ disable_notification: true });
    expect(sent[1]!.body).toMatchObject({ reply_parameters: { message_id: c.messageId } });
    expect(sent[1]!.body.disable_notification).toBeUndefined();

    // The final card: the whole story, each step with its date, time and time zone, and the run.
    const text = c.text;
    expect(text).toContain("Status: rolled back");
    expect(text).toContain(`Run: ${ROLLBACK_RUN}`);
    const history = text.slice(text.indexOf("History:\n") + "History:\n".length).split("\n");
    for (const line of history) expect(line).toMatch(STAMP);
    expect(history.map((l) => l.replace(STAMP, ""))).toEqual([
      "created by token:ci",
      "→ deploying to stage (token:ci)",
      "→ rehearsing the rollback (token:ci)",
      "→ manual testing (token:ci)",
      "✅ QA Team: quinn",
      "✅ DevOps: dora",
      "✅ Team Lead: lee",
      "→ approved (lee)",
      "🚀 production deploy requested (lee)",
      `🚀 production deploy started — workflow run: ${h.github.runs[0]!.html_url}`,
      "→ deploying to production (token:ci)",
      "→ deployed (token:ci)",
      "↩️ rollback to v1.0.0 requested (lee)",
      `↩️ rollback to v1.0.0 started: its workflow was dispatched — workflow run: ${h.github.runs[1]!.html_url}`,
      "→ rolling back (token:ci)",
      "→ rolled back (token:ci)",
      "↩️ rollback to v1.0.0 done",
    ]);
    const failed = await h.db.db.sql`SELECT count(*)::int AS n FROM outbox WHERE failed_at IS NOT NULL`;
    expect(failed[0]!.n).toBe(0);
  });

  it("what must be known at once rings as a reply: a failed production deploy", async () => {
    const id = await toManualTesting(h, "auth", "v3.0.0");
    for (const user of [QA, DEVOPS, LEAD]) {
      await press(user, /Approve/, card("v3.0.0").messageId);
      await outboxDrained(h);
    }
    await patch(id, "deploying");
    await patch(id, "production_failed");
    await outboxDrained(h);
    const reply = await waitFor(
      () =>
        h.telegram
          .sent(RELEASE_CHAT)
          .find((s) => s.body.text === "❗ auth v3.0.0: the production deploy failed"),
      15_000,
      "the failure reply",
    );
    expect(reply.body).toMatchObject({ reply_parameters: { message_id: card("v3.0.0").messageId } });
    expect(reply.body.disable_notification).toBeUndefined();
    expect(card("v3.0.0").text).toMatch(/UTC → production deploy failed \(token:ci\)$/m);
    expect(cardsOf("v3.0.0")).toHaveLength(1);
  });

  it("a card Telegram no longer lets the bot edit is sent again, whole, and followed from then on", async () => {
    const created = await h.api("POST", "/release", { service: "auth", tag: "v4.0.0" });
    const id = created.body.release_id as number;
    await outboxDrained(h);
    const first = await waitFor(() => cardOf(h, "auth", "v4.0.0"), 15_000, "the card");
    // Someone deleted the card in the chat.
    h.telegram.messages.delete(`${RELEASE_CHAT}:${first.messageId}`);
    await patch(id, "stage_building");
    await outboxDrained(h);
    const again = await waitFor(() => cardOf(h, "auth", "v4.0.0"), 15_000, "the card sent again");
    expect(again.messageId).not.toBe(first.messageId);
    expect(again.text).toMatch(/UTC created by token:ci\n.+UTC → deploying to stage \(token:ci\)$/);
    await patch(id, "stage_test_rollback");
    await outboxDrained(h);
    await waitFor(() => cardOf(h, "auth", "v4.0.0")?.text.includes("Status: rehearsing"), 15_000, "edited");
    expect(cardsOf("v4.0.0")).toHaveLength(1);
    expect(cardOf(h, "auth", "v4.0.0")!.messageId).toBe(again.messageId);
  });
});
