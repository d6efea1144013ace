import { describe, expect, it } from "vitest";
import {
  authorizeMember,
  DEFAULT_APPROVAL_POLICY,
  type Member,
  memberIdentities,
  RelctlError,
  summarizeApprovals,
  validateMember,
} from "../../src/index.js";

const member = (over: Partial<Member> = {}): Member => ({
  telegramId: 1,
  name: "quinn",
  roles: ["qa"],
  services: [],
  environments: [],
  githubLogin: null,
  locale: "en",
  ...over,
});

const progress = (records: { role: string; user: string }[] = []) =>
  summarizeApprovals(
    DEFAULT_APPROVAL_POLICY,
    records.map((r) => ({ ...r, decision: "approve" as const })),
  ).roles;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(RelctlError);
    return (err as RelctlError).code;
  }
}

const req = (action: "approve" | "reject" | "rollback" | "view", p = progress()) => ({
  action,
  service: "auth",
  environment: "production",
  policy: DEFAULT_APPROVAL_POLICY,
  progress: p,
});

describe("authorizeMember", () => {
  it("approves with the member's role whose turn it is", () => {
    expect(authorizeMember(member(), req("approve"))).toBe("qa");
    expect(
      authorizeMember(
        member({ roles: ["devops", "qa"] }),
        req("approve", progress([{ role: "qa", user: "x" }])),
      ),
    ).toBe("devops");
  });

  it("refuses strangers, missing roles, the wrong turn, and services or environments not covered", () => {
    expect(code(() => authorizeMember(undefined, req("approve")))).toBe("not_a_member");
    expect(code(() => authorizeMember(member({ roles: ["admin"] }), req("approve")))).toBe("missing_role");
    expect(code(() => authorizeMember(member({ roles: ["lead"] }), req("approve")))).toBe("not_your_turn");
    expect(code(() => authorizeMember(member({ services: ["billing"] }), req("approve")))).toBe(
      "service_not_covered",
    );
    expect(code(() => authorizeMember(member({ environments: ["stage"] }), req("approve")))).toBe(
      "environment_not_covered",
    );
  });

  it("lets any policy role reject, and only devops, lead or admin roll back", () => {
    expect(authorizeMember(member({ roles: ["lead"] }), req("reject"))).toBe("lead");
    expect(authorizeMember(member({ roles: ["admin"] }), req("rollback"))).toBe("admin");
    expect(code(() => authorizeMember(member(), req("rollback")))).toBe("missing_role");
  });
});

describe("validateMember", () => {
  it("normalises and names the offending field", () => {
    expect(validateMember({ telegramId: "42", roles: ["qa"], githubLogin: "Octo-Cat" })).toMatchObject({
      telegramId: 42,
      name: "tg:42",
      githubLogin: "octo-cat",
      locale: "en",
    });
    expect(code(() => validateMember({ telegramId: "@bob", roles: ["qa"] }))).toBe("invalid_telegram_id");
    expect(code(() => validateMember({ telegramId: 1, roles: [] }))).toBe("roles_required");
    expect(code(() => validateMember({ telegramId: 1, roles: ["qa"], locale: "de" }))).toBe("invalid_locale");
  });

  it("gives every identity of one person, so four-eyes holds across channels", () => {
    expect(memberIdentities(member({ telegramId: 7, githubLogin: "quinn-gh" }))).toEqual([
      "quinn",
      "tg:7",
      "quinn-gh",
    ]);
  });
});
