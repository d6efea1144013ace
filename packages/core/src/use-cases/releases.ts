import type { ApprovalRow, Release, ReleaseStore } from "../adapters/postgres/release-store.js";
import type { ServiceConfig } from "../config/load.js";
import { type ApprovalPolicy, type RoleProgress, summarizeApprovals } from "../domain/approvals.js";
import { isReleaseStatus, type ReleaseStatus } from "../domain/statuses.js";
import { UsageError } from "../errors.js";

/** Approvals gate the production environment; its policy wins over the root policy. */
export function approvalPolicyFor(config: ServiceConfig, environment = "production"): ApprovalPolicy {
  return config.environments[environment]?.approvals ?? config.approvals;
}

export interface ReleaseView {
  readonly release: Release;
  readonly approvals: readonly ApprovalRow[];
  readonly progress: readonly RoleProgress[];
}

export async function loadReleaseView(
  store: ReleaseStore,
  id: number,
  policy: ApprovalPolicy,
): Promise<ReleaseView> {
  const release = await store.requireRelease(id);
  const approvals = await store.listApprovals(id);
  return { release, approvals, progress: summarizeApprovals(policy, approvals).roles };
}

export function parseStatus(value: string, field = "status"): ReleaseStatus {
  if (!isReleaseStatus(value)) {
    throw new UsageError("invalid_status", `${field}: "${value}" is not a release status`, {
      hint: "see `relctl release update --help` for the 14 statuses",
    });
  }
  return value;
}

/** The role a rejection is recorded under when the caller names none: the first role not yet complete. */
export function defaultRejectRole(policy: ApprovalPolicy, approvals: readonly ApprovalRow[]): string {
  const open = summarizeApprovals(policy, approvals).roles.find((r) => r.state !== "approved");
  return (open ?? summarizeApprovals(policy, approvals).roles[0])!.role;
}
