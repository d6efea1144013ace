import { badRequest } from "@relctl/testkit";
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
 * someone must act on or know at once is a message of its own, a reply to the card that rings. A
 * reply goes when the card moves on, so a release that is done leaves one message in the chat.
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
  const labels = (tag: string) => card(tag).buttons.map((row) => row.map((b) => b.text));
  /** The newest id of any message the chat had, deleted ones too: every later one has a higher one. */
  const newestId = () =>
    Math.max(
      0,
      ...h.telegram.chatMessages(RELEASE_CHAT).map((m) => m.messageId),
      ...h.telegram.deleted(RELEASE_CHAT),
    );
  const live = (since: number) => h.telegram.chatMessages(RELEASE_CHAT).filter((m) => m.messageId > since);
  const replyIn = (text: string) =>
    waitFor(
      () => h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text === text),
      15_000,
      `the reply "${text}"`,
    );
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

  it("created → stage → approvals → production → rollback: one card, edited; its one reply rang and went", async () => {
    const sentBefore = h.telegram.sent(RELEASE_CHAT).length;
    const since = newestId();
    const id = await toManualTesting(h, "auth", "v2.0.0", { github_action_link: DEPLOY_RUN });
    // Manual testing is someone's to do: a ringing reply to the card says so, while it is to do.
    const ready = await replyIn("🧪 auth v2.0.0 is ready for manual testing");
    expect(live(since).map((m) => m.messageId)).toEqual([card("v2.0.0").messageId, ready.messageId]);
    for (const user of [QA, DEVOPS, LEAD]) {
      await press(user, /Approve/);
      await outboxDrained(h);
    }
    await waitFor(() => h.github.accepted().length === 1, 15_000, "the deploy dispatch");
    await waitFor(() => card("v2.0.0").text.includes("production deploy started"), 15_000, "deploy started");
    // Every approval in, the card moved on: the reply has been said, and is gone.
    expect(h.telegram.deleted(RELEASE_CHAT)).toContain(ready.messageId);
    expect(live(since).map((m) => m.messageId)).toEqual([card("v2.0.0").messageId]);
    // The deploy workflow reports as it goes.
    await patch(id, "deploying");
    await patch(id, "deployed");
    await outboxDrained(h);
    await waitFor(() => card("v2.0.0").text.includes("Status: deployed"), 15_000, "deployed");

    // A lead rolls production back from the card: its own keyboard becomes the menu of versions,
    // and Back restores the card's buttons. No message of its own.
    expect(labels("v2.0.0")).toEqual([["↩️ Rollback"]]);
    const answers = h.telegram.answers().length;
    await press(LEAD, /Rollback/);
    await waitFor(() => labels("v2.0.0").flat().includes("v1.0.0"), 15_000, "the versions on the card");
    expect(labels("v2.0.0")).toEqual([["v1.0.0"], ["« Back"]]);
    expect(h.telegram.answers()[answers]!.body).toMatchObject({
      text: "Roll back auth from v2.0.0 to which version?",
    });
    await press(LEAD, /Back/);
    await waitFor(() => labels("v2.0.0")[0]?.[0] === "↩️ Rollback", 15_000, "the card's own buttons again");
    expect(labels("v2.0.0")).toEqual([["↩️ Rollback"]]);
    expect(card("v2.0.0").text).toContain("Status: deployed");
    await press(LEAD, /Rollback/);
    await press(LEAD, /^v1\.0\.0$/);
    await waitFor(() => labels("v2.0.0")[0]?.[0] === "Yes, roll back to v1.0.0", 15_000, "the confirmation");
    expect(labels("v2.0.0")).toEqual([["Yes, roll back to v1.0.0"], ["« Back"]]);
    expect(h.telegram.answers().at(-1)!.body).toMatchObject({
      text: "Roll back auth from v2.0.0 to v1.0.0?",
    });
    await press(LEAD, /Yes, roll back/);
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

    // Exactly one message for the release in the chat: its card, edited in place at every step.
    expect(cardsOf("v2.0.0")).toHaveLength(1);
    const c = card("v2.0.0");
    expect(c.edits).toBeGreaterThanOrEqual(5);
    expect(c.buttons).toEqual([]);
    expect(live(since).map((m) => m.messageId)).toEqual([c.messageId]);
    // Sent in the chat since: the card (silently) and the one reply that rang, deleted since. No
    // other notice, and no picker: sent minus deleted is the card.
    const sent = h.telegram.sent(RELEASE_CHAT).slice(sentBefore);
    expect(sent.map((s) => String(s.body.text).split("\n")[0])).toEqual([
      `auth v2.0.0 — #${id}`,
      "🧪 auth v2.0.0 is ready for manual testing",
    ]);
    expect(sent[0]!.body).toMatchObject({ disable_notification: true });
    expect(sent[1]!.body).toMatchObject({ reply_parameters: { message_id: c.messageId } });
    expect(sent[1]!.body.disable_notification).toBeUndefined();
    expect(h.telegram.deleted(RELEASE_CHAT).filter((m) => m > since)).toEqual([ready.messageId]);

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

  it("what must be known at once rings as a reply: a failed production deploy, whose reply stays", async () => {
    const since = newestId();
    const id = await toManualTesting(h, "auth", "v3.0.0");
    const ready = await replyIn("🧪 auth v3.0.0 is ready for manual testing");
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
    // The release ends in the failure: its reply stays until something moves the card on; the
    // earlier one is gone.
    const failure = await replyIn("❗ auth v3.0.0: the production deploy failed");
    expect(h.telegram.deleted(RELEASE_CHAT)).toContain(ready.messageId);
    expect(live(since).map((m) => m.messageId)).toEqual([card("v3.0.0").messageId, failure.messageId]);
  });

  it("a reply Telegram will not delete is left as it is; the next one still rings", async () => {
    const id = await toManualTesting(h, "auth", "v3.1.0");
    const ready = await replyIn("🧪 auth v3.1.0 is ready for manual testing");
    const c = card("v3.1.0");
    await press(QA, /Reject/, c.messageId);
    const prompt = await replyIn(
      "Why do you reject auth v3.1.0? quinn, reply to this message with the reason.",
    );
    // Over 48 hours old, or the bot lost the right: Telegram refuses the delete for good.
    h.telegram.script = (call) =>
      call.method === "deleteMessage" ? badRequest("message can't be deleted for everyone") : undefined;
    try {
      await h.say(QA, RELEASE_CHAT, "login page broken", prompt.messageId);
      await waitFor(
        async () =>
          (await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status ===
          "manual_test_failed",
        15_000,
        "the rejection",
      );
      await outboxDrained(h);
      const rejected = await replyIn("⛔ auth v3.1.0 was rejected by quinn: login page broken");
      expect(h.telegram.calls.some((x) => x.method === "deleteMessage" && x.status === 400)).toBe(true);
      expect(h.telegram.chatMessages(RELEASE_CHAT).map((m) => m.messageId)).toContain(ready.messageId);
      const [row] = await h.db.db.sql`
        SELECT reply_message_id FROM release_cards WHERE chat_id = ${RELEASE_CHAT} AND release_id = ${id}`;
      expect(Number(row!.reply_message_id)).toBe(rejected.messageId);
    } finally {
      h.telegram.script = undefined;
    }
    const failed = await h.db.db.sql`SELECT count(*)::int AS n FROM outbox WHERE failed_at IS NOT NULL`;
    expect(failed[0]!.n).toBe(0);
  });

  const statusOf = async (id: number) =>
    (await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status as string;
  const promptsOf = async (id: number) =>
    (await h.db.db.sql`SELECT count(*)::int AS n FROM bot_prompts WHERE release_id = ${id}`)[0]!.n as number;

  it("created → stage → manual testing → Reject → reason: the card says it; the prompt and the reason go", async () => {
    // The bot may delete people's messages in this group (an admin with the right).
    h.telegram.grantDeleteRight(RELEASE_CHAT);
    try {
      const sentBefore = h.telegram.sent(RELEASE_CHAT).length;
      const since = newestId();
      const id = await toManualTesting(h, "auth", "v5.0.0");
      const ready = await replyIn("🧪 auth v5.0.0 is ready for manual testing");
      const c = card("v5.0.0");
      await press(QA, /Reject/, c.messageId);
      const question = "Why do you reject auth v5.0.0? quinn, reply to this message with the reason.";
      const prompt = await replyIn(question);
      // Addressed to the person who pressed: a mention of them, and a reply box for them only.
      expect(h.telegram.sent(RELEASE_CHAT).find((s) => s.body.text === question)!.body).toMatchObject({
        entities: [{ type: "text_mention", offset: question.indexOf("quinn"), length: 5, user: { id: QA } }],
        reply_markup: { force_reply: true, selective: true },
      });
      expect(await h.say(QA, RELEASE_CHAT, "login page broken", prompt.messageId)).toBe(200);
      const reason = h.telegram.received.at(-1)!;
      expect(reason).toMatchObject({ from: QA, text: "login page broken" });
      await waitFor(async () => (await statusOf(id)) === "manual_test_failed", 15_000, "the rejection");
      await outboxDrained(h);
      // The rejection rang as a reply to the card.
      const rejected = await replyIn("⛔ auth v5.0.0 was rejected by quinn: login page broken");
      await waitFor(
        () => h.telegram.deleted(RELEASE_CHAT).includes(reason.messageId),
        15_000,
        "the reason's message deleted",
      );

      // Sent in the chat: the card, the ready reply, the prompt and the rejection's reply; no
      // acknowledgement of its own. Deleted: the ready reply (the card moved on), the prompt and
      // the person's reason (kept in the card's history and the audit).
      const sent = h.telegram.sent(RELEASE_CHAT).slice(sentBefore);
      expect(sent.map((s) => String(s.body.text).split("\n")[0])).toEqual([
        `auth v5.0.0 — #${id}`,
        "🧪 auth v5.0.0 is ready for manual testing",
        question,
        "⛔ auth v5.0.0 was rejected by quinn: login page broken",
      ]);
      expect(sent[3]!.body).toMatchObject({ reply_parameters: { message_id: c.messageId } });
      expect(sent[3]!.body.disable_notification).toBeUndefined();
      expect(
        h.telegram
          .deleted(RELEASE_CHAT)
          .filter((m) => m > since)
          .sort(),
      ).toEqual([ready.messageId, prompt.messageId, reason.messageId].sort());
      // What the chat shows of the release: its card, and the reply of the rejection it ends in
      // (a final outcome keeps its reply: nothing moves the card on after it).
      expect(live(since).map((m) => m.messageId)).toEqual([c.messageId, rejected.messageId]);
      expect(cardsOf("v5.0.0")).toHaveLength(1);
      expect(card("v5.0.0").text).toContain("Rejected by quinn (QA Team): login page broken");
      expect(card("v5.0.0").text).toMatch(/UTC ⛔ QA Team: quinn — login page broken\n/);
      expect(card("v5.0.0").buttons).toEqual([]);
      const [audit] = await h.db.db
        .sql`SELECT after FROM audit_events WHERE release_id = ${id} AND action = 'release.reject'`;
      expect(audit!.after).toMatchObject({ reason: "login page broken" });
      expect(await promptsOf(id)).toBe(0);
    } finally {
      h.telegram.grantDeleteRight(RELEASE_CHAT, false);
    }
  });

  it("a prompt nobody answers, or whose reason was refused, goes when the card moves on", async () => {
    const sentBefore = h.telegram.sent(RELEASE_CHAT).length;
    const since = newestId();
    const id = await toManualTesting(h, "auth", "v5.1.0");
    const ready = await replyIn("🧪 auth v5.1.0 is ready for manual testing");
    const c = card("v5.1.0");
    const question = (who: string) =>
      `Why do you reject auth v5.1.0? ${who}, reply to this message with the reason.`;
    // Reject pressed twice: the second prompt replaces the first, which goes at once.
    await press(QA, /Reject/, c.messageId);
    const first = await replyIn(question("quinn"));
    await press(QA, /Reject/, c.messageId);
    const second = await waitFor(
      () =>
        h.telegram
          .chatMessages(RELEASE_CHAT)
          .find((m) => m.text === question("quinn") && m.messageId !== first.messageId),
      15_000,
      "the second prompt",
    );
    await waitFor(() => h.telegram.deleted(RELEASE_CHAT).includes(first.messageId), 15_000, "the first gone");
    // A reason that is refused: the prompt says why, addressed to the person; no message of its own.
    const sentNow = h.telegram.sent(RELEASE_CHAT).length;
    await h.say(QA, RELEASE_CHAT, "   ", second.messageId);
    await waitFor(
      () => second.text.startsWith("quinn, auth v5.1.0 is not rejected. Refused: "),
      15_000,
      "the refusal on the prompt",
    );
    expect(second.text).toBe("quinn, auth v5.1.0 is not rejected. Refused: A rejection needs a reason.");
    expect(h.telegram.sent(RELEASE_CHAT)).toHaveLength(sentNow);
    expect(await statusOf(id)).toBe("manual_testing");
    // QA approves instead: the card's new state leaves the refused prompt behind, and it goes.
    await press(QA, /Approve/, c.messageId);
    await outboxDrained(h);
    await waitFor(
      () => h.telegram.deleted(RELEASE_CHAT).includes(second.messageId),
      15_000,
      "the refusal gone",
    );
    // DevOps asks, then approves without answering: the abandoned prompt goes with the card's move.
    await press(DEVOPS, /Reject/, c.messageId);
    const abandoned = await replyIn(question("dora"));
    await press(DEVOPS, /Approve/, c.messageId);
    await outboxDrained(h);
    await waitFor(
      () => h.telegram.deleted(RELEASE_CHAT).includes(abandoned.messageId),
      15_000,
      "the abandoned prompt gone",
    );
    expect(await promptsOf(id)).toBe(0);
    // The ready reply stays (an approval does not move the card on); the person's refused text is
    // theirs (the bot has no right to delete it in this group); no prompt is left.
    const people = h.telegram.received.filter((m) => m.messageId > since).map((m) => m.messageId);
    expect(live(since).map((m) => m.messageId)).toEqual([c.messageId, ready.messageId, ...people]);
    expect(
      h.telegram
        .sent(RELEASE_CHAT)
        .slice(sentBefore)
        .map((s) => String(s.body.text).split("\n")[0]),
    ).toEqual([
      `auth v5.1.0 — #${id}`,
      "🧪 auth v5.1.0 is ready for manual testing",
      question("quinn"),
      question("quinn"),
      question("dora"),
    ]);
    const failed = await h.db.db.sql`SELECT count(*)::int AS n FROM outbox WHERE failed_at IS NOT NULL`;
    expect(failed[0]!.n).toBe(0);
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
