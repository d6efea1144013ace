import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LATEST_SCHEMA_VERSION } from "@relctl/core";
import { TelegramEmulator } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startBotProcess } from "./support/bot-process.js";
import { BOT_TOKEN, waitFor } from "./support/harness.js";

describe("with nothing but the bot token", () => {
  let telegram: TelegramEmulator;
  let stateDir: string;

  beforeAll(async () => {
    telegram = await new TelegramEmulator().start();
    stateDir = mkdtempSync(join(tmpdir(), "relctl-bot-embedded-"));
  });
  afterAll(async () => {
    await telegram?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it("runs on the embedded database and long-polls Telegram", async () => {
    const bot = await startBotProcess(
      { TELEGRAM_BOT_TOKEN: BOT_TOKEN, TELEGRAM_API_ROOT: telegram.url, RELCTL_STATE_DIR: stateDir },
      60_000,
    );
    try {
      expect(bot.output()).toContain('"database":"embedded"');
      expect(bot.output()).toContain('"telegram":"polling"');
      const health = await fetch(`${bot.url}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        status: "ok",
        database: { ok: true, schema_version: LATEST_SCHEMA_VERSION },
      });
      await waitFor(() => telegram.calls.some((c) => c.method === "getUpdates"), 10_000, "long polling");
    } finally {
      expect(await bot.stop()).toBe(0);
    }
    expect(bot.output()).not.toContain(BOT_TOKEN.split(":")[1]!);
  });
});
