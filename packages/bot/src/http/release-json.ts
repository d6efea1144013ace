import type { ApprovalRow, Release, RoleProgress } from "@relctl/core";

/** A release as the API returns it: snake_case, the seed's data model, plus `release_id`. */
export function releaseJson(r: Release): Record<string, unknown> {
  return {
    release_id: r.id,
    id: r.id,
    service_name: r.service,
    release_tag: r.tag,
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

export function releaseViewJson(
  r: Release,
  progress: readonly RoleProgress[],
  approvals: readonly ApprovalRow[],
): Record<string, unknown> {
  return {
    ...releaseJson(r),
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
