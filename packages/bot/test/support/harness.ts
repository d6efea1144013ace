import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Actor, MemberStore, TokenStore } from "@relctl/core";
import {
  createPostgresTestDatabase,
  GithubEmulator,
  TelegramEmulator,
  type TestDatabase,
} from "@relctl/testkit";
import {
  type ApprovalsService,
  createLogger,
  type Deployer,
  loadBotSettings,
  startApprovalsService,
} from "../../src/index.js";

export const BOT_TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmn";
export const WEBHOOK_SECRET = "hook-secret-for-tests";
export const GITHUB_TOKEN = "ghp_testtokenTESTTOKEN1234567890abcd";
export const RELEASE_CHAT = -1001;
export const ADMIN: Actor = { user: "admin", channel: "cli" };

export interface Harness {
  readonly db: TestDatabase;
  readonly telegram: TelegramEmulator;
  readonly github: GithubEmulator;
  readonly service: ApprovalsService;
  readonly apiToken: string;
  readonly logs: string[];
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** A Telegram update delivered to the webhook, as Telegram would post it. */
  webhook(update: Record<string, unknown>, secret?: string): Promise<number>;
  press(
    userId: number,
    chatId: number,
    messageId: number,
    data: string,
    languageCode?: string,
  ): Promise<number>;
  /** A person's text in a chat: kept in the emulator (telegram.received), then posted to the webhook. */
  say(userId: number, chatId: number, text: string, replyTo?: number): Promise<number>;
  addMember(telegramId: number, name: string, roles: string[], github?: string): Promise<void>;
  close(): Promise<void>;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

let updateId = 1;

/** The approvals service on a throwaway PostgreSQL database, with Telegram and GitHub emulated. */
export async function startHarness(
  options: { env?: Record<string, string>; runbookDeployer?: (db: TestDatabase) => Deployer } = {},
): Promise<Harness> {
  const db = await createPostgresTestDatabase("relctl_bot");
  const telegram = await new TelegramEmulator().start();
  const github = await new GithubEmulator().start();
  const cwd = mkdtempSync(join(tmpdir(), "relctl-bot-"));
  const env = {
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: telegram.url,
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    RELEASE_CHAT_ID: String(RELEASE_CHAT),
    GITHUB_TOKEN,
    GITHUB_ORG: "acme",
    GITHUB_API_URL: github.url,
    // The emulator is also GitHub Actions' OIDC issuer (github.oidc.mint).
    RELCTL_OIDC_ISSUER: github.url,
    RELCTL_HTTP_HOST: "127.0.0.1",
    RELCTL_POLL_MS: "20",
    DATABASE_URL: db.url!,
    ...options.env,
  };
  const logs: string[] = [];
  const settings = loadBotSettings(env);
  const service = await startApprovalsService({
    settings,
    env,
    cwd,
    port: 0,
    logger: createLogger({ secrets: settings.secrets, write: (l) => logs.push(l) }),
    ...(options.runbookDeployer ? { runbookDeployer: options.runbookDeployer(db) } : {}),
  });
  const { secret } = await new TokenStore(db.db.sql).createToken(
    { name: "ci", services: ["*"], alerts: true },
    ADMIN,
  );
  const members = new MemberStore(db.db.sql);

  const api: Harness["api"] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${service.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${secret}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = { text };
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const webhook: Harness["webhook"] = async (update, hookSecret = WEBHOOK_SECRET) => {
    const res = await fetch(`${service.url}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": hookSecret },
      body: JSON.stringify({ update_id: updateId++, ...update }),
    });
    await res.text();
    return res.status;
  };
  return {
    db,
    telegram,
    github,
    service,
    apiToken: secret,
    logs,
    api,
    webhook,
    press: (userId, chatId, messageId, data, languageCode = "en") =>
      webhook(callbackUpdate(userId, chatId, messageId, data, languageCode)),
    say: (userId, chatId, text, replyTo) =>
      webhook(textUpdate(userId, chatId, text, replyTo, telegram.receive(chatId, userId, text).messageId)),
    async addMember(telegramId, name, roles, githubLogin) {
      await members.writeMember({ telegramId, name, roles, githubLogin }, ADMIN);
    },
    async close() {
      await service.close();
      await telegram.stop();
      await github.stop();
      await db.drop();
      rmSync(cwd, { recursive: true, force: true });
    },
  };
}

export function callbackUpdate(userId: number, chatId: number, messageId: number, data: string, lang = "en") {
  return {
    callback_query: {
      id: String(Math.random()).slice(2),
      from: { id: userId, is_bot: false, first_name: `u${userId}`, language_code: lang },
      chat_instance: "1",
      data,
      message: {
        message_id: messageId,
        date: Math.floor(Date.now() / 1000),
        chat:
          chatId > 0
            ? { id: chatId, type: "private", first_name: "u" }
            : { id: chatId, type: "group", title: "g" },
        text: "card",
      },
    },
  };
}

export function textUpdate(
  userId: number,
  chatId: number,
  text: string,
  replyTo?: number,
  messageId = Math.floor(Math.random() * 1e6),
) {
  const chat =
    chatId > 0 ? { id: chatId, type: "private", first_name: "u" } : { id: chatId, type: "group", title: "g" };
  return {
    message: {
      message_id: messageId,
      date: Math.floor(Date.now() / 1000),
      chat,
      from: { id: userId, is_bot: false, first_name: `u${userId}` },
      text,
      ...(text.startsWith("/")
        ? { entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0]!.length }] }
        : {}),
      ...(replyTo ? { reply_to_message: { message_id: replyTo, date: 0, chat, text: "prompt" } } : {}),
    },
  };
}

/** Polls until `check` returns a truthy value (or throws after `timeoutMs`). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the outbox has nothing left to deliver. */
export async function outboxDrained(h: Harness, timeoutMs = 10_000): Promise<void> {
  await waitFor(
    async () => (await h.service.deps.outbox.pendingCount()) === 0,
    timeoutMs,
    "the outbox to drain",
  );
}
