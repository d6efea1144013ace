import { describe, expect, it } from "vitest";
import {
  buildTokenScopes,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
  parseTokenLifetime,
  tokenAllowsService,
  tokenServices,
} from "../../src/index.js";

describe("API tokens", () => {
  it("are random, recognisable, and stored only as a hash", () => {
    const a = generateApiToken();
    expect(looksLikeApiToken(a)).toBe(true);
    expect(a).not.toBe(generateApiToken());
    expect(hashApiToken(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiToken(a)).not.toContain(a.slice(4));
  });

  it("are scoped to services", () => {
    const scopes = buildTokenScopes({ services: ["auth"], alerts: true });
    expect(scopes).toEqual(["service:auth", "alerts"]);
    expect(tokenAllowsService(scopes, "auth")).toBe(true);
    expect(tokenAllowsService(scopes, "billing")).toBe(false);
    expect(tokenServices(buildTokenScopes({ services: ["*"] }))).toBe("all");
    expect(() => buildTokenScopes({})).toThrowError(/at least one --service/);
    expect(() => buildTokenScopes({ services: ["Bad!"] })).toThrowError(/service\[0\]/);
  });
});

describe("token lifetimes", () => {
  it.each([
    ["12h", 12 * 3600_000],
    ["30d", 30 * 24 * 3600_000],
    ["8w", 8 * 7 * 24 * 3600_000],
    ["never", null],
  ])("reads %s", (text, ms) => {
    expect(parseTokenLifetime(text)).toBe(ms);
  });
  it.each(["0h", "30m", "10y", "forever", "-1d", "6000w", ""])(
    "refuses %j in one line naming the flag",
    (text) => {
      expect(() => parseTokenLifetime(text, "expires")).toThrow(
        /^expires: expected "never" or a lifetime from 1h to 5 years/,
      );
    },
  );
});
