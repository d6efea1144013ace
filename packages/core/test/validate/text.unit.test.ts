import { describe, expect, it } from "vitest";
import { MAX_REASON_LENGTH, printable, UsageError, validateReason } from "../../src/index.js";

describe("reasons from people", () => {
  it("keeps a reason of up to 1000 characters, newlines and tabs included, trimmed", () => {
    expect(validateReason("  login page broken\n\tsee QA-12  ")).toBe("login page broken\n\tsee QA-12");
    expect(validateReason("x".repeat(MAX_REASON_LENGTH))).toHaveLength(1000);
  });
  it.each([
    ["\u001b]0;pwned\u0007", /control characters are not allowed \(U\+001B at position 1\)/],
    ["ok\rsurprise", /U\+000D at position 3/],
    ["bell\u0007", /U\+0007/],
    ["rtl \u202Egnp.exe", /U\+202E/],
    ["x".repeat(100_000), /at most 1000 characters \(got 100000\)/],
    ["   ", /say why/],
  ])("refuses %j in one line naming the field", (text, why) => {
    let err: unknown;
    try {
      validateReason(text, "reason");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const message = (err as Error).message;
    expect(message).toMatch(/^reason: /);
    expect(message).toMatch(why);
    expect(printable(message)).toBe(message);
  });
  it("prints text from elsewhere with its control characters shown, not obeyed", () => {
    expect(printable("a\u001b[2Jb\u0007\r\nc")).toBe("a\\u001b[2Jb\\u0007\\u000d\nc");
  });
});
