import { type Actor, MemberStore, ReleaseStore, TokenStore } from "@relctl/core";
import {
  createPostgresTestDatabase,
  GithubEmulator,
  TelegramEmulator,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type BotProcess, startBotProcess } from "./support/bot-process.js";
import {
  BOT_TOKEN,
  callbackUpdate,
  GITHUB_TOKEN,
  RELEASE_CHAT,
  WEBHOOK_SECRET,
  waitFor,
} from "./support/harness.js";
import { seedDeployed } from "./support/seed-releases.js";

/**
 * A rollback from the chat starts exactly once: the confirming press writes the one open rollback
 * request of the service, it stays open while its workflow runs (dispatched), and every press
 * meanwhile, from anyone, on either process, is answered with it.
 */
const ci: Actor = { user: "octocat", channel: "api" };
let db: TestDatabase;
let telegram: TelegramEmulator;
let github: GithubEmulator;
let bots: BotProcess[] = [];
let token: string;
let current: number;

beforeAll(async () => {
  db = await createPostgresTestDatabase("relctl_rollback_once");
  telegram = await new TelegramEmulator().start();
  github = await new GithubEmulator().start();
  const env = {
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: telegram.url,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RELEASE_CHAT_ID: String(RELEASE_CHAT),
    GITHUB_TOKEN,
    GITHUB_ORG: "acme",
    GITHUB_API_URL: github.url,
    DATABASE_URL: db.url!,
    RELCTL_POLL_MS: "20",
  };
  bots = await Promise.all([
    startBotProcess({ ...env, RELCTL_WORKER_ID: "bot-a" }),
    startBotProcess({ ...env, RELCTL_WORKER_ID: "bot-b" }),
  ]);
  const members = new MemberStore(db.db.sql);
  for (let i = 0; i < 4; i++)
    await members.writeMember({ telegramId: 300 + i, name: `ops${i}`, roles: ["devops"] }, ci);
  const store = new ReleaseStore(db.db.sql);
  await seedDeployed(store, "auth", "v1.9.0");
  await seedDeployed(store, "auth", "v2.0.0");
  current = await seedDeployed(store, "auth", "v2.1.0");
  token = (await new TokenStore(db.db.sql).createToken({ name: "ci", services: ["auth"] }, ci)).secret;
}, 60_000);
afterAll(async () => {
  await Promise.all(bots.map((b) => b.stop()));
  await telegram?.stop();
  await github?.stop();
  await db?.drop();
});

async function press(i: number, messageId: number, data: string, updateId: number): Promise<number> {
  const bot = bots[i % 2]!;
  const res = await fetch(`${bot.url}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
    body: JSON.stringify({
      update_id: updateId,
      ...callbackUpdate(300 + (i % 4), RELEASE_CHAT, messageId, data),
    }),
  });
  return res.status;
}
const card = () => telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v2.1.0 — #"))!;
const answersAfter = (n: number) => telegram.answers().slice(n);

/** Every queued chat row delivered: a card edit still on its way would close an open picker. */
async function outboxDrained(): Promise<boolean> {
  const [row] = await db.db
    .sql`SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`;
  return row!.n === 0;
}

it("twenty concurrent confirmations across two processes dispatch one rollback; every later press is told it is under way", async () => {
  await waitFor(() => card()?.buttons.length, 15_000, "the card with its Rollback button");
  await waitFor(outboxDrained, 30_000, "every card update delivered");
  const rollbackButton = telegram.button(RELEASE_CHAT, card().messageId, /Rollback/);
  await press(0, card().messageId, rollbackButton, 1);
  // The card's own keyboard is the picker.
  const picker = card();
  await waitFor(() => picker.buttons.flat().some((b) => b.text === "v2.0.0"), 15_000, "the versions");
  await press(0, picker.messageId, telegram.button(RELEASE_CHAT, picker.messageId, /^v2\.0\.0$/), 2);
  await waitFor(
    () => picker.buttons[0]?.[0]?.text === "Yes, roll back to v2.0.0",
    15_000,
    "the confirmation",
  );
  const yes = telegram.button(RELEASE_CHAT, picker.messageId, /Yes, roll back/);

  const before = telegram.answers().length;
  const statuses = await Promise.all(
    Array.from({ length: 20 }, (_, i) => press(i, picker.messageId, yes, 100 + i)),
  );
  expect(statuses.every((s) => s === 200)).toBe(true);
  await waitFor(() => github.accepted().length >= 1, 30_000, "the dispatch");
  await new Promise((r) => setTimeout(r, 1000));
  const rollbacks = github.dispatches.filter((d) => d.workflow === "rollback.yml");
  expect(rollbacks).toHaveLength(1);
  expect(rollbacks[0]!.body.inputs).toEqual({ release_id: String(current), tag: "v2.0.0" });
  // Every press was answered: one with the request, the others with the one under way.
  const answers = answersAfter(before);
  expect(answers).toHaveLength(20);
  const underWay = answers.filter((a) =>
    /A rollback to v2\.0\.0 is under way, requested by ops\d at/.test(String(a.body.text)),
  );
  expect(underWay.length).toBe(19);
  expect(answers.some((a) => /internal error/.test(String(a.body.text)))).toBe(false);
  const requests = await db.db.sql`SELECT state, requested_by FROM deploy_requests WHERE kind = 'rollback'`;
  expect(requests).toHaveLength(1);
  expect(requests[0]!.state).toBe("dispatched");
  const requester = requests[0]!.requested_by as string;

  // The card says so, and offers no second rollback.
  await waitFor(
    () => card().text.includes(`A rollback to v2.0.0 is under way, requested by ${requester}`),
    15_000,
    "the card with the open rollback",
  );
  expect(card().buttons).toEqual([]);

  // While the workflow runs: the card's old Rollback button and the used Yes start nothing.
  const n = telegram.answers().length;
  await press(1, card().messageId, rollbackButton, 500);
  await press(3, picker.messageId, yes, 501);
  await waitFor(() => telegram.answers().length >= n + 2, 10_000, "both answers");
  expect(github.dispatches.filter((d) => d.workflow === "rollback.yml")).toHaveLength(1);
  for (const a of answersAfter(n))
    expect(String(a.body.text)).toMatch(
      /A rollback to v2\.0\.0 is under way, requested by ops\d at \d\d:\d\d UTC/,
    );

  // The workflow reports its end (PATCH /release, as the action does): the request closes.
  const patch = (status: string) =>
    fetch(`${bots[0]!.url}/release`, {
      method: "PATCH",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ release_id: current, status, rollback_to_tag: "v2.0.0" }),
    });
  expect((await patch("production_rollback")).status).toBe(200);
  expect((await patch("rollback_done")).status).toBe(200);
  const [closed] = await db.db.sql`SELECT state FROM deploy_requests WHERE kind = 'rollback'`;
  expect(closed!.state).toBe("done");
  await waitFor(
    () => card().text.includes("Status: rolled back") && !card().text.includes("under way"),
    15_000,
    "the card at rollback_done",
  );
  const audit = await db.db.sql`SELECT action FROM audit_events WHERE action LIKE 'rollback.%' ORDER BY id`;
  expect(audit.map((a) => a.action)).toEqual(["rollback.request", "rollback.dispatched", "rollback.done"]);
}, 120_000);

it("a repeated press whose edit Telegram calls 'not modified' is answered normally", async () => {
  const v2 = () => telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v2.0.0 — #"))!;
  await waitFor(() => v2()?.buttons.length, 15_000, "v2.0.0's card with its Rollback button (it runs now)");
  const text = v2().text;
  await press(2, v2().messageId, telegram.button(RELEASE_CHAT, v2().messageId, /Rollback/), 600);
  await waitFor(
    () =>
      v2()
        .buttons.flat()
        .some((b) => /Back/.test(b.text)),
    15_000,
    "the versions on the card",
  );
  const back = telegram.button(RELEASE_CHAT, v2().messageId, /Back/);
  const n = telegram.answers().length;
  await press(2, v2().messageId, back, 601);
  await waitFor(() => telegram.answers().length >= n + 1, 10_000, "the first answer");
  // The second edit would change nothing: Telegram answers 400 "message is not modified".
  await press(2, v2().messageId, back, 602);
  await waitFor(() => telegram.answers().length >= n + 2, 10_000, "the second answer");
  const edits = telegram.calls.filter(
    (c) => c.method === "editMessageText" && c.body.message_id === v2().messageId,
  );
  expect(edits.at(-1)!.status).toBe(400);
  for (const a of answersAfter(n)) expect(String(a.body.text ?? "")).not.toMatch(/internal error/);
  // Back left the card as it was, with its own button.
  expect(v2().text).toBe(text);
  expect(
    v2()
      .buttons.flat()
      .map((b) => b.text),
  ).toEqual(["↩️ Rollback"]);
});
