import { StateError, UsageError } from "../errors.js";
import { describe } from "./names.js";
import type { ReleaseStatus } from "./statuses.js";
import { validateReason } from "./text.js";

/** Who must approve a release before it may go to an environment. */
export interface ApprovalPolicy {
  /** Required roles, in order; each needs `count` distinct people. */
  readonly roles: readonly { readonly role: string; readonly count: number }[];
  /** `sequential`: a role may approve only after every earlier role is complete. `any`: in any order. */
  readonly order: "sequential" | "any";
  /** Whether the person who initiated the release may approve it. */
  readonly allowSelfApproval: boolean;
}

export const DEFAULT_APPROVAL_POLICY: ApprovalPolicy = {
  roles: [
    { role: "qa", count: 1 },
    { role: "devops", count: 1 },
    { role: "lead", count: 1 },
  ],
  order: "sequential",
  allowSelfApproval: false,
};

export type Decision = "approve" | "reject";

export interface ApprovalRecord {
  readonly role: string;
  readonly user: string;
  readonly decision: Decision;
  readonly reason?: string | null;
}

export type RoleState = "approved" | "waiting" | "blocked" | "rejected";

export interface RoleProgress {
  readonly role: string;
  readonly needed: number;
  readonly approvedBy: readonly string[];
  /** approved: complete; waiting: may approve now; blocked: an earlier role must finish first. */
  readonly state: RoleState;
}

/** Where a release stands against its policy. Pure. */
export function summarizeApprovals(
  policy: ApprovalPolicy,
  records: readonly ApprovalRecord[],
): { roles: RoleProgress[]; complete: boolean; rejectedBy?: ApprovalRecord } {
  const rejectedBy = records.find((r) => r.decision === "reject");
  let earlierComplete = true;
  const roles = policy.roles.map(({ role, count }): RoleProgress => {
    const approvedBy = records.filter((r) => r.role === role && r.decision === "approve").map((r) => r.user);
    const done = approvedBy.length >= count;
    let state: RoleState = done
      ? "approved"
      : earlierComplete || policy.order === "any"
        ? "waiting"
        : "blocked";
    if (rejectedBy?.role === role) state = "rejected";
    earlierComplete = earlierComplete && done;
    return { role, needed: count, approvedBy, state };
  });
  const complete = !rejectedBy && roles.every((r) => r.state === "approved");
  return rejectedBy ? { roles, complete, rejectedBy } : { roles, complete };
}

export interface ApprovalRequest {
  readonly policy: ApprovalPolicy;
  readonly status: ReleaseStatus;
  readonly initiatedBy: string;
  readonly records: readonly ApprovalRecord[];
  readonly user: string;
  readonly role: string;
  readonly decision: Decision;
  readonly reason?: string;
  /** Other identities of the same person (e.g. a GitHub login linked to a Telegram id). */
  readonly userAliases?: readonly string[];
}

export interface ApprovalPlan {
  readonly record: ApprovalRecord;
  /** The status the release moves to, or null when it stays in manual_testing. */
  readonly nextStatus: "manual_test_passed" | "manual_test_failed" | null;
}

/**
 * Decides whether a person may record this decision now, and what it does to the release.
 * Pure: throws a RelctlError naming the rule that refuses it, or returns the plan.
 */
export function planApproval(req: ApprovalRequest): ApprovalPlan {
  const { policy, user, role } = req;
  const step = policy.roles.find((r) => r.role === role);
  if (!step) {
    throw new UsageError(
      "unknown_role",
      `role: ${describe(role)} is not required by the approval policy (required: ${policy.roles.map((r) => r.role).join(", ")})`,
    );
  }
  if (req.status !== "manual_testing") {
    throw new StateError(
      "not_awaiting_approval",
      `the release is ${req.status}; approvals are taken only in manual_testing`,
    );
  }
  const identities = new Set([user, ...(req.userAliases ?? [])]);
  if (req.decision === "reject") {
    if (!req.reason?.trim()) throw new UsageError("reason_required", "reason: a rejection needs a reason");
    const reason = validateReason(req.reason);
    return { record: { role, user, decision: "reject", reason }, nextStatus: "manual_test_failed" };
  }
  if (!policy.allowSelfApproval && identities.has(req.initiatedBy)) {
    throw new UsageError(
      "self_approval",
      `${user} initiated this release and cannot approve it (the policy does not allow self-approval)`,
    );
  }
  const previous = req.records.find((r) => identities.has(r.user) && r.decision === "approve");
  if (previous) {
    throw new StateError(
      "already_approved",
      `${user} already approved this release as ${previous.role}; one person counts once`,
    );
  }
  const summary = summarizeApprovals(policy, req.records);
  const progress = summary.roles.find((r) => r.role === role)!;
  if (progress.state === "approved") {
    throw new StateError("role_complete", `${role} has already given the ${step.count} approval(s) it needs`);
  }
  if (progress.state === "blocked") {
    const waiting = summary.roles.find((r) => r.state === "waiting");
    throw new StateError(
      "out_of_order",
      `${role} cannot approve yet: ${waiting?.role ?? "an earlier role"} must approve first (order: sequential)`,
    );
  }
  const record: ApprovalRecord = { role, user, decision: "approve" };
  const after = summarizeApprovals(policy, [...req.records, record]);
  return { record, nextStatus: after.complete ? "manual_test_passed" : null };
}
