import { describe, expect, it } from "vitest";
import { planRetry } from "../../src/index.js";

const now = new Date("2026-01-01T00:00:00Z");
const after = (plan: ReturnType<typeof planRetry>) =>
  plan.action === "retry" ? plan.at.getTime() - now.getTime() : -1;

describe("planRetry", () => {
  it("waits exactly retry_after on 429, whatever the attempt", () => {
    expect(after(planRetry({ kind: "rate_limited", retryAfterSeconds: 7 }, 99, now))).toBe(7000);
    expect(after(planRetry({ kind: "rate_limited", retryAfterSeconds: 0 }, 1, now))).toBe(1000);
  });

  it("backs off exponentially on 5xx, capped, and gives up after maxAttempts", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6 };
    expect([1, 2, 3, 4, 5].map((a) => after(planRetry({ kind: "transient" }, a, now, policy)))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    expect(planRetry({ kind: "transient" }, 6, now, policy)).toEqual({ action: "fail" });
    expect(planRetry({ kind: "permanent" }, 1, now)).toEqual({ action: "fail" });
  });
});
