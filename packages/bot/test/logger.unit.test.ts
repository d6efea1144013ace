import { describe, expect, it } from "vitest";
import { createLogger, loadBotSettings, redactSecrets } from "../src/index.js";

const TOKEN = "7712345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw";

describe("logs without secrets", () => {
  it("hides a bot token inside a Bot API URL, even one it was not told about", () => {
    const line = redactSecrets(`GET https://api.telegram.org/bot${TOKEN}/sendMessage failed`, []);
    expect(line).toBe("GET https://api.telegram.org/bot[REDACTED]/sendMessage failed");
  });

  it("hides configured secrets, URL passwords, relctl and GitHub tokens in every field", () => {
    const lines: string[] = [];
    const logger = createLogger({ secrets: ["s3cr3t-webhook"], write: (l) => lines.push(l) });
    logger.error("request failed", {
      err: new Error(
        `fetch https://api.telegram.org/bot${TOKEN}/getMe: ECONNREFUSED\nstack with s3cr3t-webhook`,
      ),
      db: "postgres://relctl:hunter22@db:5432/relctl",
      header: "Bearer rlc_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ",
      github: "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
      webhook: "s3cr3t-webhook",
    });
    const out = lines.join("");
    for (const secret of [
      TOKEN,
      TOKEN.split(":")[1]!,
      "hunter22",
      "rlc_abcdefghijklmnop",
      "ghp_abcdefghij",
      "s3cr3t-webhook",
    ]) {
      expect(out).not.toContain(secret);
    }
    expect(JSON.parse(out)).toMatchObject({
      level: "error",
      msg: "request failed",
      db: "postgres://relctl:[REDACTED]@db:5432/relctl",
    });
  });
});

describe("settings from the seed's environment variables", () => {
  it("reads the bot, the chats, GitHub and the per-service deploy choice", () => {
    const s = loadBotSettings({
      TELEGRAM_BOT_TOKEN: TOKEN,
      ALERT_CHAT_ID: "-100123",
      GITHUB_TOKEN: "ghp_x",
      GITHUB_ORG: "acme",
      RELCTL_DEPLOY_VIA: "github,billing=runbook",
      DATABASE_URL: "postgres://u:pw-secret@h/db",
    });
    expect(s.telegram).toMatchObject({ mode: "polling", token: TOKEN });
    expect(s.alertChatIds).toEqual([-100123]);
    expect(s.releaseChatIds).toEqual([-100123]);
    expect(s.deployVia).toEqual({ default: "github", services: { billing: "runbook" } });
    expect(s.secrets).toEqual(expect.arrayContaining([TOKEN, "ghp_x", "pw-secret"]));
    expect(loadBotSettings({}).deployVia.default).toBe("runbook");
  });

  it("names the variable it refuses", () => {
    expect(() => loadBotSettings({ TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_MODE: "webhook" })).toThrowError(
      "TELEGRAM_WEBHOOK_SECRET: required in webhook mode",
    );
    expect(() => loadBotSettings({ ALERT_CHAT_ID: "@chat" })).toThrowError(/^ALERT_CHAT_ID: "@chat"/);
    expect(() => loadBotSettings({ PORT: "http" })).toThrowError(/^PORT: expected a whole number/);
    expect(() => loadBotSettings({ RELCTL_DEPLOY_VIA: "ssh" })).toThrowError(/^RELCTL_DEPLOY_VIA/);
  });

  it("writes only lines at or above its level (LOG_LEVEL)", () => {
    const lines: string[] = [];
    const logger = createLogger({ secrets: [], level: "warn", write: (l) => lines.push(l) });
    logger.debug("not this");
    logger.info("nor this");
    logger.warn("this", { n: 1 });
    expect(lines.map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([
      { level: "warn", time: expect.any(String), msg: "this", n: 1 },
    ]);
    expect(() => loadBotSettings({ LOG_LEVEL: "loud" })).toThrow(
      /^LOG_LEVEL: expected one of trace, debug, info/,
    );
    expect(loadBotSettings({ LOG_LEVEL: "DEBUG" }).logLevel).toBe("debug");
  });
});
