import { ENGINES, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Actor, TokenStore } from "../../src/index.js";

const admin: Actor = { user: "admin", channel: "cli" };

describe.each(ENGINES)("token expiry on %s", (_engine, create) => {
  let t: TestDatabase;
  let tokens: TokenStore;
  beforeAll(async () => {
    t = await create();
    tokens = new TokenStore(t.db.sql);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("a token stops working when it expires; its name can then be reused", async () => {
    const { token, secret } = await tokens.createToken(
      { name: "ci", services: ["auth"], lifetimeMs: 3600_000 },
      admin,
    );
    const left = token.expiresAt!.getTime() - Date.now();
    expect(left).toBeGreaterThan(3500_000);
    expect(left).toBeLessThanOrEqual(3600_000 + 5_000);
    expect((await tokens.findActiveToken(secret))?.name).toBe("ci");

    await t.db.sql`UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = ${token.id}`;
    expect(await tokens.findActiveToken(secret)).toBeUndefined();
    expect((await tokens.listTokens()).map((x) => x.name)).not.toContain("ci");
    expect((await tokens.listTokens({ includeRevoked: true })).map((x) => x.name)).toContain("ci");
    const again = await tokens.createToken({ name: "ci", services: ["auth"] }, admin);
    expect(again.token.expiresAt).toBeNull();
    expect((await tokens.findActiveToken(again.secret))?.id).toBe(again.token.id);
  });
});
