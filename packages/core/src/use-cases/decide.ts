import type { TransactionSql } from "postgres";
import type { DeployRequest, DeployRequestStore } from "../adapters/postgres/deploy-request-store.js";
import type { ReleaseStore } from "../adapters/postgres/release-store.js";
import type { ServiceConfig } from "../config/load.js";
import { type ApprovalPolicy, type Decision, summarizeApprovals } from "../domain/approvals.js";
import { approvalPolicyFor, primaryGate } from "../domain/gates.js";
import { type Member, memberIdentities } from "../domain/member.js";
import { authorizeMember } from "../domain/permissions.js";
import type { Actor, ApprovalRow, Release } from "../domain/release.js";
import { UsageError } from "../errors.js";
import { inUseCaseSpan } from "../telemetry.js";

/** The ports an approval needs. */
export interface DecidePorts {
  readonly releases: Pick<ReleaseStore, "requireRelease" | "listApprovals" | "decide">;
  readonly deployRequests: Pick<DeployRequestStore, "requestDeploy">;
  /** The release's service configuration (its policy and gates). */
  configFor(service: string): Promise<ServiceConfig>;
}

export interface DecideInput {
  readonly releaseId: number;
  readonly decision: Decision;
  readonly actor: Actor;
  /**
   * The member a door has proven (a Telegram press, a member's API token): the role comes from the
   * member's roles, checked as everywhere (a `role` given must be that one). Without one (the CLI
   * on the database: administrator mode), `role` names it.
   */
  readonly member?: Member;
  readonly role?: string;
  readonly reason?: string;
  /** Runs under the release row lock before the decision; throws to refuse (e.g. a stale card). */
  readonly beforeDecide?: (release: Release) => void;
}

export interface DecideOutcome {
  readonly release: Release;
  readonly approval: ApprovalRow;
  /** True for exactly one decision per release: the one that completed the policy. */
  readonly completed: boolean;
  /** The production deploy that completing the approvals requested (in the same transaction). */
  readonly deployRequest: DeployRequest | undefined;
  /** The environment the approvals are for. */
  readonly environment: string;
  readonly policy: ApprovalPolicy;
  /** One line for the person who decided: what happens now. */
  readonly next: string;
}

/**
 * Approves or rejects a release, the same through every door (CLI, HTTP API, Telegram). The policy
 * is the release's gate's; the approval that completes it moves the release to
 * manual_test_passed and requests the deploy to that environment in the same transaction, so
 * exactly one deploy is requested whatever the door; a rejection moves it to manual_test_failed.
 */
export function decideRelease(ports: DecidePorts, input: DecideInput): Promise<DecideOutcome> {
  return inUseCaseSpan(
    `decideRelease ${input.decision}`,
    input.actor,
    { "relctl.release_id": input.releaseId, "relctl.decision": input.decision },
    (actor) => decide(ports, { ...input, actor }),
  );
}

async function decide(ports: DecidePorts, input: DecideInput): Promise<DecideOutcome> {
  const release = await ports.releases.requireRelease(input.releaseId);
  const config = await ports.configFor(release.service);
  const policy = approvalPolicyFor(config);
  const environment = primaryGate(config)?.name ?? "production";
  const approvals = await ports.releases.listApprovals(release.id);
  const progress = summarizeApprovals(policy, approvals).roles;
  const role = input.member
    ? authorizeMember(input.member, {
        action: input.decision,
        service: release.service,
        environment,
        policy,
        progress,
      })
    : (input.role ?? (input.decision === "reject" ? defaultRejectRole(progress) : undefined));
  if (!role) throw new UsageError("role_required", "role: name the role you approve as (e.g. qa)");
  // A proven member who names a role gets that one or nothing: the decision is never recorded
  // under another role than the one asked for.
  if (input.member && input.role !== undefined && input.role !== role) {
    throw new UsageError(
      "role_mismatch",
      `role: you would ${input.decision} ${release.service} ${release.tag} as ${role} now, not as ${input.role}`,
      { hint: `leave out --role, or pass --role ${role}` },
    );
  }
  let deployRequest: DeployRequest | undefined;
  const result = await ports.releases.decide(
    release.id,
    {
      role,
      decision: input.decision,
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.member ? { userAliases: memberIdentities(input.member) } : {}),
    },
    policy,
    input.actor,
    {
      ...(input.beforeDecide ? { beforeDecide: input.beforeDecide } : {}),
      onDecided: async (tx: TransactionSql, decided) => {
        if (!decided.completed) return;
        deployRequest = await ports.deployRequests.requestDeploy(
          tx,
          { releaseId: decided.release.id, service: decided.release.service, environment },
          input.actor,
        );
      },
    },
  );
  const r = result.release;
  const next = result.completed
    ? `all approvals are in: ${r.service} ${r.tag} (release ${r.id}) is ${r.status}; its deploy to ${environment} is requested${
        deployRequest ? ` (request ${deployRequest.id})` : ""
      }: the approvals service starts it, or run: relctl deploy ${r.service} ${r.tag} --env ${environment}`
    : r.status === "manual_test_failed"
      ? `${r.service} ${r.tag} (release ${r.id}) is rejected: manual_test_failed`
      : `${role} approved ${r.service} ${r.tag} (release ${r.id}); waiting for: ${
          summarizeApprovals(policy, [...approvals, result.approval])
            .roles.filter((p) => p.state !== "approved")
            .map((p) => p.role)
            .join(", ") || "nobody"
        }`;
  return { ...result, deployRequest, environment, policy, next };
}

/** The role a rejection is recorded under when the caller names none: the first role not yet complete. */
function defaultRejectRole(progress: ReturnType<typeof summarizeApprovals>["roles"]): string | undefined {
  return (progress.find((r) => r.state !== "approved") ?? progress[0])?.role;
}
