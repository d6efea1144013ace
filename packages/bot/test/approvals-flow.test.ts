import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GITHUB_TOKEN,
  type Harness,
  outboxDrained,
  RELEASE_CHAT,
  startHarness,
  waitFor,
} from "./support/harness.js";
import {
  addTeam,
  cardOf,
  footprint as footprintOf,
  refusals as refusalsOf,
  TEAM,
  toManualTesting as toManualTestingAs,
} from "./support/release-flow.js";

const { QA, DEVOPS, LEAD, INITIATOR, ADMIN_ONLY, STRANGER } = TEAM;

describe("approvals through Telegram, end to end", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await addTeam(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const card = (tag: string) => cardOf(h, "auth", tag);
  const toManualTesting = (tag: string) =>
    toManualTestingAs(h, "auth", tag, {
      initiated_by: "OctoCat",
      github_action_link: "https://github.com/acme/auth/actions/runs/77",
    });
  const footprint = (id: number) => footprintOf(h, id);
  const refusals = (id: number | null) => refusalsOf(h, id);

  it("runs POST → PATCH → card → QA, DevOps, Lead approve → exactly one workflow_dispatch", async () => {
    const id = await toManualTesting("v1.0.0");
    const c = card("v1.0.0")!;
    expect(c.text).toContain("⏳ QA Team");
    expect(c.text).toContain("⏸ DevOps");
    expect(c.text).toContain("Run: https://github.com/acme/auth/actions/runs/77");
    // The card carries the story (it arrived silently); only what wants someone is a message of its
    // own, a reply to the card that rings.
    const sent = h.telegram.sent(RELEASE_CHAT).map((s) => s.body);
    expect(sent.map((b) => String(b.text).split("\n")[0])).toEqual([
      `auth v1.0.0 — #${id}`,
      "🧪 auth v1.0.0 is ready for manual testing",
    ]);
    expect(sent[0]).toMatchObject({ disable_notification: true });
    expect(sent[1]).toMatchObject({ reply_parameters: { message_id: c.messageId } });
    expect(sent[1]!.disable_notification).toBeUndefined();
    expect(c.text).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC → deploying to stage \(token:ci\)$/m);

    const firstApprove = h.telegram.button(RELEASE_CHAT, c.messageId, /Approve/);
    expect(await h.press(QA, RELEASE_CHAT, c.messageId, firstApprove)).toBe(200);
    await waitFor(() => card("v1.0.0")?.text.includes("✅ QA Team — quinn"), 15_000, "QA on the card");

    // The card was edited in place: one card message for the release in the chat.
    expect(
      h.telegram.chatMessages(RELEASE_CHAT).filter((m) => m.text.startsWith("auth v1.0.0 — #")),
    ).toHaveLength(1);
    expect(card("v1.0.0")!.edits).toBeGreaterThan(0);

    // A press on the old card state (the button as it was before QA approved) is refused.
    const before = await footprint(id);
    await h.press(DEVOPS, RELEASE_CHAT, c.messageId, firstApprove);
    expect(await footprint(id)).toEqual(before);

    for (const user of [DEVOPS, LEAD]) {
      await waitFor(() => card("v1.0.0")!.buttons.length > 0, 15_000, "fresh buttons");
      const approve = h.telegram.button(RELEASE_CHAT, c.messageId, /Approve/);
      await h.press(user, RELEASE_CHAT, c.messageId, approve);
      await waitFor(
        async () =>
          (await h.db.db.sql`SELECT count(*)::int AS n FROM approvals WHERE release_id = ${id}`)[0]!.n >=
          (user === DEVOPS ? 2 : 3),
        5000,
        "the approval",
      );
      await outboxDrained(h);
    }

    await waitFor(() => h.github.accepted().length === 1, 15_000, "the dispatch");
    await new Promise((r) => setTimeout(r, 300));
    expect(h.github.dispatches).toHaveLength(1);
    const d = h.github.dispatches[0]!;
    expect(d).toMatchObject({ owner: "acme", repo: "auth", workflow: "production.yml" });
    expect(d.body).toEqual({ ref: "main", inputs: { release_id: String(id), tag: "v1.0.0" } });
    expect(d.authorization).toBe(`token ${GITHUB_TOKEN}`);

    await outboxDrained(h);
    const final = card("v1.0.0")!.text;
    expect(final).toContain("Status: approved");
    for (const line of [
      "✅ QA Team — quinn",
      "✅ DevOps — dora",
      "✅ Team Lead — lee",
      "→ deploying to stage",
      "→ manual testing",
      "→ approved",
    ]) {
      expect(final).toContain(line);
    }
    expect(card("v1.0.0")!.buttons).toEqual([]);
    await waitFor(
      () => card("v1.0.0")?.text.includes("🚀 production deploy started"),
      15_000,
      "the deploy on the card",
    );
    expect(h.telegram.sent(RELEASE_CHAT).map((s) => s.body.text)).not.toContain(
      "🚀 Production deploy of auth v1.0.0 started",
    );
    // The GitHub and Telegram calls are counted and timed on /metrics.
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toContain(
      'relctl_github_api_requests_total{method="POST",route="/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",status="204"} 1',
    );
    expect(metrics).toMatch(
      /^relctl_github_api_request_duration_seconds_count\{method="POST",route="[^"]+dispatches"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^relctl_telegram_api_requests_total\{method="sendMessage",result="ok"\} [1-9]\d*$/m,
    );
    expect(metrics).toMatch(
      /^relctl_telegram_api_request_duration_seconds_count\{method="sendMessage"\} [1-9]/m,
    );

    const audit = await h.api("GET", `/release/${id}`);
    expect(audit.body.decisions).toMatchObject([
      { role: "qa", user: "quinn" },
      { role: "devops", user: "dora" },
      { role: "lead", user: "lee" },
    ]);
    const approvedBy = await h.db.db.sql`SELECT actor, channel FROM audit_events
      WHERE release_id = ${id} AND action = 'release.approve' ORDER BY id`;
    expect(approvedBy.map((e) => `${e.actor}/${e.channel}`)).toEqual([
      "quinn/telegram",
      "dora/telegram",
      "lee/telegram",
    ]);
    expect(await refusals(id)).toEqual([{ actor: "dora", code: "stale_card" }]);
  });

  it("refuses the initiator (by GitHub login), a user without the role, a stranger and a forged button; each audited, nothing changed", async () => {
    const id = await toManualTesting("v1.0.1");
    const c = card("v1.0.1")!;
    const approve = h.telegram.button(RELEASE_CHAT, c.messageId, /Approve/);
    const before = await footprint(id);
    const answersBefore = h.telegram.answers().length;

    await h.press(INITIATOR, RELEASE_CHAT, c.messageId, approve);
    await h.press(ADMIN_ONLY, RELEASE_CHAT, c.messageId, approve);
    await h.press(STRANGER, RELEASE_CHAT, c.messageId, approve);
    await h.press(QA, RELEASE_CHAT, c.messageId, "AAAAAAAAAAAAAAAA");
    await h.press(QA, RELEASE_CHAT, c.messageId, "approve:1:qa");
    await h.press(QA, -2002, c.messageId, approve);

    expect(await footprint(id)).toEqual(before);
    expect(await refusals(id)).toEqual([
      { actor: "octo", code: "self_approval" },
      { actor: "ada", code: "missing_role" },
      { actor: "tg:999", code: "not_a_member" },
      { actor: "quinn", code: "other_chat" },
    ]);
    expect((await refusals(null)).slice(-2)).toEqual([
      { actor: "quinn", code: "forged_button" },
      { actor: "quinn", code: "forged_button" },
    ]);
    const answers = h.telegram.answers().slice(answersBefore);
    expect(answers).toHaveLength(6);
    expect(answers.every((a) => a.body.show_alert === true)).toBe(true);
    expect(answers[2]!.body.text).toBe("You are not a member (your Telegram id is 999).");
    expect(answers[3]!.body.text).toBe("This button is not known.");

    const wrongSecret = await h.webhook(
      { callback_query: { id: "1", from: { id: QA }, data: approve } },
      "nope",
    );
    expect(wrongSecret).toBe(401);
    expect(await footprint(id)).toEqual(before);
    const [refusedHook] = await h.db.db
      .sql`SELECT after FROM audit_events WHERE action = 'telegram.webhook_refused'`;
    expect(refusedHook?.after).toMatchObject({ reason: "wrong secret token" });
    expect(h.github.dispatches).toHaveLength(1);
  });

  it("rejects with a reason: manual_test_failed, and card and chat say who and why", async () => {
    const id = await toManualTesting("v1.0.2");
    const c = card("v1.0.2")!;
    await h.press(QA, RELEASE_CHAT, c.messageId, h.telegram.button(RELEASE_CHAT, c.messageId, /Reject/));
    const prompt = await waitFor(
      () =>
        h.telegram
          .chatMessages(RELEASE_CHAT)
          .find((m) => m.text.startsWith("Why do you reject auth v1.0.2?")),
      15_000,
      "the reason prompt",
    );
    expect((await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status).toBe(
      "manual_testing",
    );
    // Someone else's text does not count as the reason.
    await h.say(DEVOPS, RELEASE_CHAT, "not me", prompt.messageId);
    await h.say(QA, RELEASE_CHAT, "login page broken", prompt.messageId);
    await waitFor(
      async () =>
        (await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status === "manual_test_failed",
      15_000,
      "the rejection",
    );
    await outboxDrained(h);
    expect(card("v1.0.2")!.text).toContain("Rejected by quinn (QA Team): login page broken");
    expect(card("v1.0.2")!.buttons).toEqual([]);
    expect(h.telegram.sent(RELEASE_CHAT).map((s) => s.body.text)).toContain(
      "⛔ auth v1.0.2 was rejected by quinn: login page broken",
    );
    const [reject] = await h.db.db
      .sql`SELECT actor, after FROM audit_events WHERE release_id = ${id} AND action = 'release.reject'`;
    expect(reject).toMatchObject({ actor: "quinn", after: { reason: "login page broken" } });
    // The card's edit is the answer: the prompt is deleted and no "Rejected." is sent. The bot has
    // no right to delete people's messages in this group: Telegram's 400 is ignored, shown to no one.
    expect(h.telegram.deleted(RELEASE_CHAT)).toContain(prompt.messageId);
    const reason = h.telegram.received.find((m) => m.text === "login page broken")!;
    expect(h.telegram.chatMessages(RELEASE_CHAT)).toContainEqual(reason);
    expect(
      h.telegram.calls.some(
        (x) => x.method === "deleteMessage" && x.body.message_id === reason.messageId && x.status === 400,
      ),
    ).toBe(true);
    const texts = h.telegram.sent(RELEASE_CHAT).map((s) => String(s.body.text));
    expect(texts.filter((t) => /Rejected\.|not rejected/.test(t))).toEqual([]);
  });

  it("in a private chat the prompt and the reason both go once the rejection is recorded", async () => {
    const id = await toManualTesting("v1.0.3");
    await h.say(QA, QA, "/menu");
    const menu = await waitFor(
      () => h.telegram.chatMessages(QA).find((m) => m.text === "relctl — choose a list"),
      15_000,
      "the menu",
    );
    await h.press(QA, QA, menu.messageId, menu.buttons[0]![0]!.data);
    await waitFor(() => menu.buttons.flat().some((b) => /v1\.0\.3/.test(b.text)), 15_000, "the list");
    await h.press(QA, QA, menu.messageId, h.telegram.button(QA, menu.messageId, /v1\.0\.3/));
    const mine = await waitFor(() => cardOf(h, "auth", "v1.0.3", QA), 15_000, "the card in the private chat");
    await h.press(QA, QA, mine.messageId, h.telegram.button(QA, mine.messageId, /Reject/));
    const prompt = await waitFor(
      () => h.telegram.chatMessages(QA).find((m) => m.text.startsWith("Why do you reject auth v1.0.3?")),
      15_000,
      "the prompt",
    );
    // In a private chat the reason needs no reply to the prompt.
    await h.say(QA, QA, "checkout fails");
    const reason = h.telegram.received.at(-1)!;
    await waitFor(
      async () =>
        (await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status === "manual_test_failed",
      15_000,
      "the rejection",
    );
    await waitFor(() => h.telegram.deleted(QA).includes(reason.messageId), 15_000, "the reason deleted");
    expect(h.telegram.deleted(QA)).toContain(prompt.messageId);
    expect(h.telegram.chatMessages(QA).filter((m) => m.messageId > mine.messageId)).toEqual([]);
    const [reject] = await h.db.db
      .sql`SELECT after FROM audit_events WHERE release_id = ${id} AND action = 'release.reject'`;
    expect(reject!.after).toMatchObject({ reason: "checkout fails" });
  });

  it("speaks Russian to a member who chose it", async () => {
    await h.addMember(STRANGER + 1, "rita", ["qa"]);
    await h.webhook({
      message: {
        message_id: 1,
        date: 0,
        chat: { id: STRANGER + 1, type: "private", first_name: "r" },
        from: { id: STRANGER + 1, is_bot: false, first_name: "r" },
        text: "/lang ru",
        entities: [{ type: "bot_command", offset: 0, length: 5 }],
      },
    });
    await h.webhook({
      message: {
        message_id: 2,
        date: 0,
        chat: { id: STRANGER + 1, type: "private", first_name: "r" },
        from: { id: STRANGER + 1, is_bot: false, first_name: "r" },
        text: "/menu",
        entities: [{ type: "bot_command", offset: 0, length: 5 }],
      },
    });
    const menu = await waitFor(
      () => h.telegram.chatMessages(STRANGER + 1).find((m) => m.text.startsWith("relctl —")),
      15_000,
      "the menu",
    );
    expect(menu.text).toBe("relctl — выберите список");
    // Each list says how many releases it holds.
    expect(menu.buttons.map((r) => r[0]!.text.replace(/ \(\d+\)$/, ""))).toEqual([
      "Активные релизы",
      "Успешные релизы",
      "Неудачные релизы",
    ]);
    expect(menu.buttons[0]![0]!.text).toMatch(/^Активные релизы \([1-9]\d*\)$/);
    const sentBefore = h.telegram.chatMessages(STRANGER + 1).length;
    await h.press(STRANGER + 1, STRANGER + 1, menu.messageId, menu.buttons[0]![0]!.data);
    // The list replaces the menu in the same message, with a Back button.
    const list = await waitFor(
      () => (menu.text.startsWith("Активные релизы (") ? menu : undefined),
      15_000,
      "the list in place of the menu",
    );
    expect(h.telegram.chatMessages(STRANGER + 1)).toHaveLength(sentBefore);
    expect(list.buttons.flat().map((b) => b.text)).toContain("auth v1.0.1 · ручное тестирование");
    expect(list.buttons.at(-1)!.map((b) => b.text)).toEqual(["« Назад"]);
    await h.press(
      STRANGER + 1,
      STRANGER + 1,
      list.messageId,
      h.telegram.button(STRANGER + 1, list.messageId, /v1\.0\.1/),
    );
    const privateCard = await waitFor(
      () => h.telegram.chatMessages(STRANGER + 1).find((m) => m.text.startsWith("auth v1.0.1")),
      15_000,
      "the card",
    );
    expect(privateCard.text).toContain("Статус: ручное тестирование");
    expect(privateCard.buttons.flat().map((b) => b.text)).toEqual(["✅ Одобрить", "❌ Отклонить"]);
    // Back returns the list's message to the menu.
    await h.press(
      STRANGER + 1,
      STRANGER + 1,
      menu.messageId,
      h.telegram.button(STRANGER + 1, menu.messageId, /Назад/),
    );
    await waitFor(() => menu.text === "relctl — выберите список", 15_000, "the menu again");
    // The command list is in Telegram's menu, in both languages.
    const commands = h.telegram.calls.filter((c) => c.method === "setMyCommands");
    expect(commands.map((c) => (c.body.language_code as string | undefined) ?? "default")).toEqual([
      "default",
      "ru",
    ]);
    expect((commands[1]!.body.commands as { command: string }[]).map((c) => c.command)).toEqual([
      "menu",
      "lang",
      "subscribe",
      "help",
    ]);
    // /help answers, in the member's language.
    await h.say(STRANGER + 1, STRANGER + 1, "/help");
    await waitFor(
      () =>
        h.telegram
          .chatMessages(STRANGER + 1)
          .find((m) => m.text.startsWith("relctl — релизы, одобрения и откаты.")),
      15_000,
      "the help",
    );
  });
});
