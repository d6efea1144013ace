import { describe, expect, it } from "vitest";
import {
  type ApprovalPolicy,
  type ApprovalRecord,
  DEFAULT_APPROVAL_POLICY,
  planApproval,
  summarizeApprovals,
} from "../../src/index.js";

const base = {
  policy: DEFAULT_APPROVAL_POLICY,
  status: "manual_testing" as const,
  initiatedBy: "dev",
  records: [] as ApprovalRecord[],
};
const approve = (user: string, role: string): ApprovalRecord => ({ user, role, decision: "approve" });

describe("approval policy", () => {
  it("walks qa → devops → lead and completes on the last", () => {
    const a = planApproval({ ...base, user: "q", role: "qa", decision: "approve" });
    expect(a.nextStatus).toBeNull();
    const b = planApproval({
      ...base,
      records: [approve("q", "qa")],
      user: "d",
      role: "devops",
      decision: "approve",
    });
    expect(b.nextStatus).toBeNull();
    const c = planApproval({
      ...base,
      records: [approve("q", "qa"), approve("d", "devops")],
      user: "l",
      role: "lead",
      decision: "approve",
    });
    expect(c.nextStatus).toBe("manual_test_passed");
  });

  it("refuses lead before qa under sequential, naming who must go first", () => {
    expect(() => planApproval({ ...base, user: "l", role: "lead", decision: "approve" })).toThrow(
      /qa must approve first/,
    );
  });

  it("allows any order under order: any", () => {
    const policy: ApprovalPolicy = { ...DEFAULT_APPROVAL_POLICY, order: "any" };
    expect(
      planApproval({ ...base, policy, user: "l", role: "lead", decision: "approve" }).nextStatus,
    ).toBeNull();
  });

  it("refuses self-approval unless the policy allows it", () => {
    expect(() => planApproval({ ...base, user: "dev", role: "qa", decision: "approve" })).toThrow(
      /initiated this release/,
    );
    expect(() =>
      planApproval({ ...base, user: "tg:5", userAliases: ["dev"], role: "qa", decision: "approve" }),
    ).toThrow(/initiated/);
    const policy = { ...DEFAULT_APPROVAL_POLICY, allowSelfApproval: true };
    expect(planApproval({ ...base, policy, user: "dev", role: "qa", decision: "approve" }).record.user).toBe(
      "dev",
    );
  });

  it("counts one person once", () => {
    expect(() =>
      planApproval({
        ...base,
        records: [approve("q", "qa")],
        user: "q",
        role: "devops",
        decision: "approve",
      }),
    ).toThrow(/already approved/);
  });

  it("needs `count` distinct people per role", () => {
    const policy: ApprovalPolicy = {
      roles: [{ role: "qa", count: 2 }],
      order: "sequential",
      allowSelfApproval: false,
    };
    expect(
      planApproval({ ...base, policy, user: "a", role: "qa", decision: "approve" }).nextStatus,
    ).toBeNull();
    expect(
      planApproval({
        ...base,
        policy,
        records: [approve("a", "qa")],
        user: "b",
        role: "qa",
        decision: "approve",
      }).nextStatus,
    ).toBe("manual_test_passed");
    expect(() =>
      planApproval({
        ...base,
        policy,
        records: [approve("a", "qa"), approve("b", "qa")],
        user: "c",
        role: "qa",
        decision: "approve",
      }),
    ).toThrow(/already given/);
  });

  it("ends the release on any rejection, which needs a reason", () => {
    expect(
      planApproval({ ...base, user: "l", role: "lead", decision: "reject", reason: "broken login" })
        .nextStatus,
    ).toBe("manual_test_failed");
    expect(() =>
      planApproval({ ...base, user: "l", role: "lead", decision: "reject", reason: "  " }),
    ).toThrow(/reason/);
  });

  it("takes decisions only in manual_testing, and only for required roles", () => {
    expect(() =>
      planApproval({ ...base, status: "deployed", user: "q", role: "qa", decision: "approve" }),
    ).toThrow(/only in manual_testing/);
    expect(() => planApproval({ ...base, user: "q", role: "security", decision: "approve" })).toThrow(
      /not required/,
    );
  });

  it("summarizes the state of each role for the card", () => {
    const s = summarizeApprovals(DEFAULT_APPROVAL_POLICY, [approve("q", "qa")]);
    expect(s.roles.map((r) => r.state)).toEqual(["approved", "waiting", "blocked"]);
    expect(s.complete).toBe(false);
  });
});
