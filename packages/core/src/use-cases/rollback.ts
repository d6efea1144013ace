import type { ServiceConfig } from "../config/load.js";
import { validateTag } from "../domain/names.js";
import type { Actor, Release } from "../domain/release.js";
import type { Deployment } from "../domain/run.js";
import type { DeployedVersion } from "../domain/versions.js";
import { StateError } from "../errors.js";
import { applyItems } from "../runbook/apply.js";
import { hostContext, planRollbackRun, type RollbackRunPlan, requireEnvironment } from "../runbook/plan.js";
import {
  connectOrFail,
  errorLine,
  type HeldLock,
  holdAfterRollback,
  inRunSpan,
  openRun,
  prepareHosts,
  type RunbookDeps,
  type RunOutcome,
  recordRestored,
  trackRelease,
  withDeployLock,
} from "./run-scope.js";
import { listVersions } from "./versions.js";

export interface RollbackInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly toTag: string;
  readonly actor: Actor;
  /** The rollback request this run fulfils (the approvals service's worker): it is open already. */
  readonly requestId?: number;
}

export interface RollbackPlan {
  readonly current: Deployment;
  readonly target: DeployedVersion;
  readonly currentRelease: Release | undefined;
  readonly plan: RollbackRunPlan;
}

/** Checks that a rollback can run and plans it; reads only. */
export async function planRollback(
  deps: Pick<RunbookDeps, "runs" | "releases">,
  input: RollbackInput,
): Promise<RollbackPlan> {
  const toTag = validateTag(input.toTag, "to");
  const env = requireEnvironment(input.config, input.environment);
  for (const host of env.hosts) hostContext(input.config, env, host);
  const view = await listVersions(deps, input.config, input.environment);
  if (!view.current)
    throw new StateError(
      "nothing_deployed",
      `nothing is deployed to ${input.config.service}/${input.environment}`,
    );
  if (view.current.tag === toTag)
    throw new StateError(
      "already_live",
      `${input.config.service} ${toTag} is already live on ${input.environment}`,
    );
  const target = view.restorable.find((v) => v.tag === toTag);
  if (!target) {
    throw new StateError(
      "not_restorable",
      `${toTag} is not restorable on ${input.environment} (restorable: ${view.restorable.map((v) => v.tag).join(", ") || "none"})`,
    );
  }
  const currentRelease = view.current.releaseId
    ? await deps.releases.getRelease(view.current.releaseId)
    : undefined;
  const plan = planRollbackRun({
    config: input.config,
    environment: input.environment,
    fromTag: view.current.tag,
    fromSchemaVersion: view.current.schemaVersion,
    target: { tag: target.tag, schemaVersion: target.schemaVersion, releaseId: target.releaseId },
    moves: env.role === "gated" && currentRelease?.status === "deployed",
  });
  return { current: view.current, target, currentRelease, plan };
}

/** Rolls an environment back to a chosen earlier tag: migrations down first, then the switch, then health. */
export function runRollback(deps: RunbookDeps, input: RollbackInput): Promise<RunOutcome> {
  return inRunSpan("rollback", { ...input, tag: input.toTag }, (actor) =>
    rollback(deps, { ...input, actor }),
  );
}

async function rollback(deps: RunbookDeps, input: RollbackInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  prepareHosts(deps, config, environment);
  await planRollback(deps, input);
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `rollback to ${input.toTag}` },
    async (held) => {
      const { current, target, currentRelease, plan } = await planRollback(deps, input);
      // Open while it runs (refused when another rollback is open), before any host is touched.
      const request =
        input.requestId === undefined && currentRelease && deps.deployRequests?.openRollback
          ? await deps.deployRequests.openRollback(
              { releaseId: currentRelease.id, service: config.service, environment, toTag: target.tag },
              actor,
            )
          : undefined;
      let ended = false;
      const settle = async (ok: boolean, error?: string) => {
        if (ended || !request) return;
        ended = true;
        await request.finish(ok, error).catch(() => {});
      };
      try {
        const outcome = await rollbackLocked(deps, input, held, { current, target, currentRelease, plan });
        await settle(outcome.status === "succeeded", outcome.message);
        return outcome;
      } catch (err) {
        await settle(false, errorLine(err));
        throw err;
      }
    },
  );
}

async function rollbackLocked(
  deps: RunbookDeps,
  input: RollbackInput,
  held: HeldLock,
  { current, target, currentRelease, plan }: RollbackPlan,
): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  const scope = await openRun(deps, held, config, environment, {
    kind: "rollback",
    releaseId: currentRelease?.id ?? null,
    tag: target.tag,
    fromTag: current.tag,
    actor,
  });
  const tracked = trackRelease(deps, actor, currentRelease);
  const finish = (status: "succeeded" | "rollback_failed", message: string, hint?: string) =>
    scope.finish({ status, message, hint, release: tracked.current, previousTag: current.tag });
  try {
    await connectOrFail(deps, scope, held);
    await tracked.move(plan.moves.rollingBack, { rollbackToTag: target.tag });
    await holdAfterRollback(
      deps,
      scope,
      currentRelease,
      `${current.tag} was rolled back to ${target.tag} by ${actor.user}`,
      actor,
    );
    try {
      await applyItems(scope.apply, plan.steps);
    } catch (failure) {
      await tracked.move(plan.moves.rollbackFailed);
      return await finish(
        "rollback_failed",
        `rollback of ${environment} from ${current.tag} to ${target.tag} failed: ${errorLine(failure)}`,
        `check the hosts (relctl doctor), then retry: relctl rollback ${config.service} --to ${target.tag} --env ${environment} --yes`,
      );
    }
    await recordRestored(deps, scope, target);
    await tracked.move(plan.moves.rolledBack);
    return await finish(
      "succeeded",
      `${config.service} on ${environment} rolled back from ${current.tag} to ${target.tag}`,
    );
  } catch (unexpected) {
    await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
    throw unexpected;
  } finally {
    await scope.close();
  }
}
