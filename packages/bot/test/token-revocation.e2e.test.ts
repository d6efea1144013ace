// A revoked token stops working in every service process at once, however long tokens are
// cached: POST and PATCH /release check the token in their own transaction, and the revocation
// is announced (NOTIFY) as it commits, on which each process empties its token cache.
import { TokenStore } from "@relctl/core";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BotProcess, startBotProcess } from "./support/bot-process.js";
import { ADMIN } from "./support/harness.js";

describe("token revocation across two service processes", () => {
  let db: TestDatabase;
  let bots: BotProcess[] = [];

  beforeAll(async () => {
    db = await createPostgresTestDatabase("relctl_revoke");
    // Five minutes of token cache: only the revocation's announcement can end it in time.
    const env = { DATABASE_URL: db.url!, RELCTL_TOKEN_CACHE_MS: "300000" };
    bots = await Promise.all([startBotProcess(env), startBotProcess(env)]);
    for (const b of bots) expect(b.output(), b.output()).toContain("approvals service started");
  });
  afterAll(async () => {
    await Promise.all(bots.map((b) => b.stop()));
    await db?.drop();
  });

  const get = async (bot: BotProcess, secret: string) =>
    (await fetch(`${bot.url}/releases`, { headers: { authorization: `Bearer ${secret}` } })).status;
  const post = async (bot: BotProcess, secret: string, tag: string) =>
    (
      await fetch(`${bot.url}/release`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify({ service: "auth", tag }),
      })
    ).status;

  it("answers 401 in both processes as soon as the revocation returns", async () => {
    const tokens = new TokenStore(db.db.sql);
    for (let round = 1; round <= 3; round++) {
      const name = `ci-${round}`;
      const { secret } = await tokens.createToken({ name, services: ["*"] }, ADMIN);
      // Each process has checked (and cached) the token.
      for (const bot of bots) {
        expect(await get(bot, secret)).toBe(200);
        expect(await get(bot, secret)).toBe(200);
        expect(await post(bot, secret, `v${round}.0.0`)).toBeLessThan(300);
      }
      await tokens.revokeToken(name, ADMIN);
      const revokedAt = performance.now();
      const writes = await Promise.all(bots.map((bot) => post(bot, secret, `v${round}.1.0`)));
      expect(writes).toEqual([401, 401]);
      // The cached check: refused once the announcement arrived, a moment after the COMMIT.
      for (const bot of bots) {
        while ((await get(bot, secret)) !== 401) expect(performance.now() - revokedAt).toBeLessThan(100);
      }
      const reads = await Promise.all(bots.map((bot) => get(bot, secret)));
      expect(reads).toEqual([401, 401]);
    }
  });
});
