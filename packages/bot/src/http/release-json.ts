import {
  type ApprovalRow,
  approvalsJson,
  releaseJson as baseJson,
  type Release,
  type RoleProgress,
} from "@relctl/core";

/** A release as the API returns it: the seed's data model, plus `release_id` (the seed's name). */
export function releaseJson(r: Release): Record<string, unknown> {
  return { release_id: r.id, ...baseJson(r) };
}

export function releaseViewJson(
  r: Release,
  progress: readonly RoleProgress[],
  approvals: readonly ApprovalRow[],
): Record<string, unknown> {
  return { ...releaseJson(r), ...approvalsJson(progress, approvals) };
}
