import { type Actor, DEFAULT_APPROVAL_POLICY, MemberStore, ReleaseStore } from "@relctl/core";
import {
  createPostgresTestDatabase,
  GithubEmulator,
  TelegramEmulator,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotProcess, startBotProcess } from "./support/bot-process.js";
import {
  BOT_TOKEN,
  callbackUpdate,
  GITHUB_TOKEN,
  RELEASE_CHAT,
  WEBHOOK_SECRET,
  waitFor,
} from "./support/harness.js";

const ci: Actor = { user: "octocat", channel: "api" };

describe("two bot processes on one database", () => {
  let db: TestDatabase;
  let telegram: TelegramEmulator;
  let github: GithubEmulator;
  let bots: BotProcess[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    db = await createPostgresTestDatabase("relctl_bot2");
    telegram = await new TelegramEmulator().start();
    github = await new GithubEmulator().start();
    env = {
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.url,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RELEASE_CHAT_ID: String(RELEASE_CHAT),
      GITHUB_TOKEN,
      GITHUB_ORG: "acme",
      GITHUB_API_URL: github.url,
      DATABASE_URL: db.url!,
      DB_PASS: "db-password-never-logged",
      RELCTL_POLL_MS: "20",
    };
    bots = await Promise.all([
      startBotProcess({ ...env, RELCTL_WORKER_ID: "bot-a" }),
      startBotProcess({ ...env, RELCTL_WORKER_ID: "bot-b" }),
    ]);
    for (const b of bots) expect(b.output(), b.output()).toContain("approvals service started");
  });
  afterAll(async () => {
    await Promise.all(bots.map((b) => b.stop()));
    await telegram?.stop();
    await github?.stop();
    await db?.drop();
  });

  it("twenty concurrent presses of the last Approve, split across both, start exactly one deploy", async () => {
    const store = new ReleaseStore(db.db.sql);
    const members = new MemberStore(db.db.sql);
    await members.writeMember({ telegramId: 101, name: "quinn", roles: ["qa"] }, ci);
    await members.writeMember({ telegramId: 102, name: "dora", roles: ["devops"] }, ci);
    for (let i = 0; i < 4; i++)
      await members.writeMember({ telegramId: 110 + i, name: `lead${i}`, roles: ["lead"] }, ci);
    const { release } = await store.createRelease({ service: "auth", tag: "v2.0.0" }, ci);
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await store.transition(release.id, s, "runbook", ci);
    await store.decide(release.id, { role: "qa", decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user: "quinn",
      channel: "telegram",
    });
    await store.decide(release.id, { role: "devops", decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user: "dora",
      channel: "telegram",
    });

    const card = await waitFor(
      () => {
        const c = telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v2.0.0"));
        return c?.text.includes("✅ DevOps — dora") && c.buttons.length ? c : undefined;
      },
      10_000,
      "the card with DevOps approved",
    );
    // Both processes deliver the outbox, yet the card was sent once and every event once.
    expect(telegram.chatMessages(RELEASE_CHAT).filter((m) => m.text.startsWith("auth v2.0.0"))).toHaveLength(
      1,
    );
    const approve = telegram.button(RELEASE_CHAT, card.messageId, /Approve/);

    const statuses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const bot = bots[i % 2]!;
        const res = await fetch(`${bot.url}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
          body: JSON.stringify({
            update_id: 1000 + i,
            ...callbackUpdate(110 + (i % 4), RELEASE_CHAT, card.messageId, approve),
          }),
        });
        return res.status;
      }),
    );
    expect(statuses.every((s) => s === 200)).toBe(true);
    // Twenty presses queue on one row lock across two processes: give the one dispatch time on a busy machine.
    await waitFor(() => github.accepted().length >= 1, 30_000, "a dispatch");
    await new Promise((r) => setTimeout(r, 1000));
    expect(github.dispatches).toHaveLength(1);
    expect(github.dispatches[0]!.body.inputs).toEqual({ release_id: String(release.id), tag: "v2.0.0" });

    const approvals = await db.db
      .sql`SELECT user_id FROM approvals WHERE release_id = ${release.id} AND role = 'lead'`;
    expect(approvals).toHaveLength(1);
    const requests = await db.db
      .sql`SELECT state, claimed_by FROM deploy_requests WHERE release_id = ${release.id}`;
    expect(requests).toHaveLength(1);
    expect(requests[0]!.state).toBe("done");
    const refused = await db.db.sql`SELECT count(*)::int AS n FROM audit_events
      WHERE release_id = ${release.id} AND action = 'telegram.refused'`;
    expect(refused[0]!.n).toBe(19);
    const [r] = await db.db.sql`SELECT status FROM releases WHERE id = ${release.id}`;
    expect(r!.status).toBe("manual_test_passed");
  });

  it("never writes the secrets to its logs, even when the Bot API cannot be reached", async () => {
    const closedApi = `http://127.0.0.1:9`;
    const failing = await startBotProcess(
      { ...env, TELEGRAM_API_ROOT: closedApi, RELCTL_WORKER_ID: "bot-c" },
      20_000,
    );
    const code = await failing.stop();
    const logs = [...bots.map((b) => b.output()), failing.output()].join("\n");
    expect(code).toBe(4);
    expect(logs).toContain("approvals service started");
    expect(failing.output()).toContain("telegram_unreachable");
    for (const secret of [
      BOT_TOKEN,
      BOT_TOKEN.split(":")[1]!,
      GITHUB_TOKEN,
      WEBHOOK_SECRET,
      "db-password-never-logged",
    ]) {
      expect(logs).not.toContain(secret);
    }
  });
});
