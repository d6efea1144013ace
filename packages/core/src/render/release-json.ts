import type { RoleProgress } from "../domain/approvals.js";
import type { ApprovalRow, Release } from "../domain/release.js";

/** A release as JSON documents carry it (CLI --json, HTTP API): snake_case, the seed's data model. */
export function releaseJson(r: Release): Record<string, unknown> {
  return {
    id: r.id,
    service_name: r.service,
    release_tag: r.tag,
    attempt: r.attempt,
    rollback_to_tag: r.rollbackToTag,
    status: r.status,
    initiated_by: r.initiatedBy,
    github_run_id: r.githubRunId,
    github_action_link: r.githubActionLink,
    github_ref: r.githubRef,
    approved_list: r.approvedList,
    created_at: r.createdAt.toISOString(),
    started_at: r.startedAt?.toISOString() ?? null,
    completed_at: r.completedAt?.toISOString() ?? null,
  };
}

/** Where each required role stands, and every decision taken. */
export function approvalsJson(
  progress: readonly RoleProgress[],
  approvals: readonly ApprovalRow[],
): { approvals: unknown[]; decisions: unknown[] } {
  return {
    approvals: progress.map((p) => ({
      role: p.role,
      needed: p.needed,
      approved_by: p.approvedBy,
      state: p.state,
    })),
    decisions: approvals.map((a) => ({
      role: a.role,
      user: a.user,
      decision: a.decision,
      reason: a.reason ?? null,
      at: a.at.toISOString(),
    })),
  };
}
