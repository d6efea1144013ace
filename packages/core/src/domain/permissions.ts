import { StateError, UsageError } from "../errors.js";
import type { ApprovalPolicy, RoleProgress } from "./approvals.js";
import type { Member } from "./member.js";

export type MemberAction = "view" | "approve" | "reject" | "rollback";

/** Roles that may roll production back. */
export const ROLLBACK_ROLES = ["devops", "lead", "admin"] as const;

export interface PermissionRequest {
  readonly action: MemberAction;
  readonly service: string;
  readonly environment: string;
  readonly policy: ApprovalPolicy;
  /** Where the release stands against its policy (needed for approve and reject). */
  readonly progress?: readonly RoleProgress[];
}

/**
 * Decides whether a member may do this now; returns the role the action is recorded under.
 * Pure: throws a RelctlError whose code names the refusal. The release's own rules (status,
 * self-approval, one person counts once) are checked by the approval policy under the row lock.
 */
export function authorizeMember(member: Member | undefined, req: PermissionRequest): string {
  if (!member) {
    throw new UsageError("not_a_member", "you are not a member of this relctl installation", {
      hint: "an admin adds you with `relctl members add <telegram-id> --role …`",
    });
  }
  if (member.services.length > 0 && !member.services.includes(req.service)) {
    throw new UsageError("service_not_covered", `you do not cover the service ${req.service}`);
  }
  if (member.environments.length > 0 && !member.environments.includes(req.environment)) {
    throw new UsageError("environment_not_covered", `you do not cover the ${req.environment} environment`);
  }
  const held = member.roles as readonly string[];
  switch (req.action) {
    case "view":
      return held[0] ?? "member";
    case "rollback": {
      const role = ROLLBACK_ROLES.find((r) => held.includes(r));
      if (!role) {
        throw new UsageError(
          "missing_role",
          `rolling back needs one of the roles ${ROLLBACK_ROLES.join(", ")}`,
        );
      }
      return role;
    }
    case "approve":
    case "reject": {
      const mine = req.policy.roles.map((r) => r.role).filter((r) => held.includes(r));
      if (mine.length === 0) {
        throw new UsageError(
          "missing_role",
          `this release needs ${req.policy.roles.map((r) => r.role).join(", ")}; you hold ${held.join(", ")}`,
        );
      }
      const progress = req.progress ?? [];
      const waiting = mine.find((r) => progress.find((p) => p.role === r)?.state === "waiting");
      if (waiting) return waiting;
      if (req.action === "reject") return mine[0]!;
      const turn = progress.find((p) => p.state === "waiting");
      throw new StateError(
        "not_your_turn",
        turn ? `it is ${turn.role}'s turn to approve` : "no approval is awaited from your roles",
      );
    }
  }
}
