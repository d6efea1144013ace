import type { ReleaseStore } from "../adapters/postgres/release-store.js";
import { type ApprovalPolicy, type RoleProgress, summarizeApprovals } from "../domain/approvals.js";
import { validateTag } from "../domain/names.js";
import type { Actor, ApprovalRow, Release } from "../domain/release.js";
import { isReleaseStatus, type ReleaseStatus } from "../domain/statuses.js";
import { UsageError } from "../errors.js";

export interface ReleaseView {
  readonly release: Release;
  readonly approvals: readonly ApprovalRow[];
  readonly progress: readonly RoleProgress[];
  readonly policy: ApprovalPolicy;
}

/** A release with where each required role stands (its gate's policy). */
export async function loadReleaseView(
  store: Pick<ReleaseStore, "requireRelease" | "listApprovals">,
  id: number,
  policyOf: ApprovalPolicy | ((release: Release) => Promise<ApprovalPolicy>),
): Promise<ReleaseView> {
  const release = await store.requireRelease(id);
  const policy = typeof policyOf === "function" ? await policyOf(release) : policyOf;
  const approvals = await store.listApprovals(id);
  return { release, approvals, progress: summarizeApprovals(policy, approvals).roles, policy };
}

export function parseStatus(value: string, field = "status"): ReleaseStatus {
  if (!isReleaseStatus(value)) {
    throw new UsageError("invalid_status", `${field}: "${value}" is not a release status`, {
      hint: "see `relctl release update --help` for the 14 statuses",
    });
  }
  return value;
}

export interface WorkflowUpdate {
  readonly releaseId: number;
  readonly status: ReleaseStatus;
  readonly rollbackToTag?: string | undefined;
  readonly githubRunId?: string | undefined;
  readonly githubActionLink?: string | undefined;
  /** Runs under the row lock before the move (the API checks the token's service here). */
  readonly authorize?: (release: Release) => void;
}

/**
 * A workflow reports a step it ran itself (PATCH /release, `relctl release update`): the move is
 * checked against the transition table as the workflow's — stage statuses, and production statuses
 * only for a release that passed its approvals. manual_test_passed and manual_test_failed are
 * never a workflow's: only the approvals make them. One transaction: lock, check, update, audit.
 */
export async function updateReleaseStatus(
  store: Pick<ReleaseStore, "withLockedRelease" | "transitionLocked">,
  input: WorkflowUpdate,
  actor: Actor,
): Promise<Release> {
  if (input.rollbackToTag) validateTag(input.rollbackToTag, "rollback_to_tag");
  return store.withLockedRelease(input.releaseId, (tx, before) => {
    input.authorize?.(before);
    return store.transitionLocked(tx, before, input.status, "workflow", actor, workflowReportFields(input));
  });
}

/** What a workflow's report changes besides the status: only the fields it sent. */
export function workflowReportFields(
  input: Pick<WorkflowUpdate, "rollbackToTag" | "githubRunId" | "githubActionLink">,
): { rollbackToTag?: string; githubRunId?: string; githubActionLink?: string } {
  return {
    ...(input.rollbackToTag ? { rollbackToTag: input.rollbackToTag } : {}),
    ...(input.githubRunId ? { githubRunId: input.githubRunId } : {}),
    ...(input.githubActionLink ? { githubActionLink: input.githubActionLink } : {}),
  };
}
