import { describe, expect, it } from "vitest";
import {
  buildTokenScopes,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
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
