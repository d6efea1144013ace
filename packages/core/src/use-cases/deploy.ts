import type { EnvironmentConfig, ServiceConfig } from "../config/load.js";
import { activeFreeze, admitDeploy, type DeployAdmission, type FreezeOverride } from "../domain/gates.js";
import { validateTag } from "../domain/names.js";
import type { Actor, Release } from "../domain/release.js";
import type { RunStatus } from "../domain/run.js";
import { planVersions, withDeployed } from "../domain/versions.js";
import { applyItems, parseSchemaVersion } from "../runbook/apply.js";
import {
  type DeployPlan,
  hostContext,
  type PlanItem,
  planDeploy,
  requireEnvironment,
} from "../runbook/plan.js";
import { parseCurrentLink, strategyFor } from "../runbook/steps.js";
import {
  connectOrFail,
  errorLine,
  holdAfterRollback,
  inRunSpan,
  openRun,
  prepareHosts,
  type RunbookDeps,
  type RunOutcome,
  readHistory,
  trackRelease,
  withDeployLock,
} from "./run-scope.js";

/** What a deploy is asked to do. */
export interface DeployInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly tag: string;
  readonly actor: Actor;
  /** More read-only checks for the check phase (relctl release: the rehearsal target is on stage). */
  readonly extraChecks?: readonly PlanItem[];
  /** A lead deploys inside a freeze window, saying why (audited). */
  readonly override?: FreezeOverride;
}

export interface PlannedDeploy {
  readonly plan: DeployPlan;
  readonly env: EnvironmentConfig;
  readonly release: Release | undefined;
  readonly admission: DeployAdmission;
}

/**
 * Reads what a deploy needs, checks its gate and plans it: no remote command, nothing written.
 * `relctl deploy --dry-run` prints exactly this plan; runDeploy runs it.
 */
export async function planDeployRun(
  deps: Pick<RunbookDeps, "releases" | "runs">,
  input: DeployInput,
): Promise<PlannedDeploy> {
  const { config, environment } = input;
  const tag = validateTag(input.tag);
  const env = requireEnvironment(config, environment);
  for (const host of env.hosts) hostContext(config, env, host);
  const release = await deps.releases.findRelease(config.service, tag);
  const approvals = release ? await deps.releases.listApprovals(release.id) : [];
  const after = env.gate.after;
  const passedAfter =
    after === null ||
    after === config.stage ||
    (await deps.runs.deploymentHistory(config.service, after)).some((d) => d.tag === tag);
  const hold = env.role === "gated" ? await deps.runs.openHold(config.service, environment) : undefined;
  const admission = admitDeploy({
    config,
    env,
    tag,
    release,
    approvals,
    passedAfter,
    hold,
    override: input.override,
  });
  const active = await deps.runs.activeDeployment(config.service, environment);
  const previous =
    active && active.tag !== tag ? { tag: active.tag, schemaVersion: active.schemaVersion } : null;
  const { history, statusOf } = await readHistory(deps, config.service, environment);
  const kept = new Set(
    planVersions(
      withDeployed(history, {
        service: config.service,
        environment,
        tag,
        releaseId: admission.create ? null : (release?.id ?? null),
      }),
      statusOf,
      env.keep,
    ).kept,
  );
  const prune = (await deps.runs.deployedRunTags(config.service, environment)).filter((t) => !kept.has(t));
  const plan = planDeploy({
    config,
    environment,
    tag,
    previous,
    moves: admission.moves,
    resume: admission.resume ?? false,
    prune,
  });
  const planned = input.extraChecks?.length
    ? { ...plan, check: [...plan.check, ...input.extraChecks] }
    : plan;
  return { plan: planned, env, release: admission.create ? undefined : release, admission };
}

/**
 * The seed's deploy flowchart, by the environment's role (not its name): a stage deploy creates
 * the release and moves initiated → stage_building (→ stage_building_failed); a gated environment
 * takes an approved release and moves manual_test_passed → deploying → deployed, or →
 * production_rollback → rollback_done | rollback_failed, or → production_failed with nothing to
 * roll back to; an open environment never moves a release. Everything that can refuse is checked
 * before the first change.
 */
export function runDeploy(deps: RunbookDeps, input: DeployInput): Promise<RunOutcome> {
  return inRunSpan("deploy", input, (actor) => deploy(deps, { ...input, actor }));
}

async function deploy(deps: RunbookDeps, input: DeployInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  prepareHosts(deps, config, environment);
  await planDeployRun(deps, input);
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `deploy ${input.tag}` },
    async (held) => {
      // Read again under the lock: what holds now is what runs.
      const planned = await planDeployRun(deps, input);
      let { plan } = planned;
      const { env, admission } = planned;
      const tag = plan.tag;
      let release = planned.release;
      const takeover =
        plan.role === "gated" && release && admission.moves
          ? await deps.deployRequests?.takeOver(release.id, environment, actor)
          : undefined;
      const scope = await openRun(deps, held, config, environment, {
        kind: "deploy",
        releaseId: release?.id ?? null,
        tag,
        fromTag: plan.previous?.tag ?? null,
        actor,
      });
      let outcome: RunOutcome | undefined;
      const freeze = activeFreeze(env, new Date());
      if (freeze && input.override) {
        await scope.runner.note(
          `deploying inside the freeze "${freeze.reason}": ${input.override.by}: ${input.override.reason}`,
        );
        await deps.audit?.(actor, "freeze.override", release?.id ?? null, {
          environment,
          tag,
          freeze: { from: freeze.from.toISOString(), to: freeze.to.toISOString(), reason: freeze.reason },
          reason: input.override.reason,
        });
      }
      try {
        await connectOrFail(deps, scope, held);
        const { runner } = scope;
        const tracked = trackRelease(deps, actor, release);
        const finish = (status: RunStatus, message: string, hint?: string) =>
          scope.finish({
            status,
            message,
            hint,
            release: tracked.current,
            previousTag: plan.previous?.tag ?? null,
          });
        // Check (read-only): a refusal here ends the run with nothing changed and no release made.
        const checked = await applyItems(scope.apply, plan.check);
        const first = env.hosts[0]!;
        for (const [i, item] of plan.check.entries()) {
          if (item.step.id !== "current") continue;
          const live = parseCurrentLink(checked.results[i]?.stdout ?? "");
          if (plan.previous && live && live !== plan.previous.tag)
            await runner.note(`${item.host}: runs ${live}, the records say ${plan.previous.tag}`);
          if (!plan.previous && live && live !== tag && item.host === first.name) {
            // No record of this environment (e.g. a store kept only for one workflow run): what
            // the host runs now, and its schema, is what a rollback returns to.
            const read = strategyFor(env.strategy).schemaVersion(hostContext(config, env, first), live);
            const schemaVersion = read
              ? parseSchemaVersion(first.name, (await runner.must(first, read)).stdout)
              : null;
            await runner.note(
              `${first.name} runs ${live} (schema ${schemaVersion ?? "-"}); relctl has no record of it`,
            );
            await deps.runs.setRunFromTag(scope.run.id, live);
            plan = planDeploy({
              config,
              environment,
              tag,
              previous: { tag: live, schemaVersion },
              moves: admission.moves,
              resume: admission.resume ?? false,
              prune: [],
            });
          }
        }
        if (admission.create) {
          release = (await deps.releases.createRelease({ service: config.service, tag }, actor)).release;
          await deps.runs.setRunRelease(scope.run.id, release.id);
          tracked.current = release;
        }
        const prev = plan.previous;
        // Prepare every host: nothing live changes, so a failure leaves production as it was.
        try {
          await applyItems(scope.apply, plan.prepare);
        } catch (failure) {
          await tracked.move(plan.moves.prepareFailed);
          outcome = await finish(
            "failed",
            `${tag} was not deployed to ${environment}: ${errorLine(failure)} (nothing live was changed)`,
            plan.moves.prepareFailed
              ? `fix the cause and release again: relctl release ${config.service} ${tag}`
              : "fix the cause and run the same deploy again",
          );
          return outcome;
        }
        await tracked.move(plan.moves.start, { rollbackToTag: prev?.tag ?? null });
        let schemaVersion: string | null = null;
        try {
          schemaVersion = (await applyItems(scope.apply, plan.migrate)).schemaVersion;
          await applyItems(scope.apply, plan.switch);
          await applyItems(scope.apply, plan.retire);
        } catch (failure) {
          const reason = errorLine(failure);
          await runner.note(`deploy of ${tag} failed: ${reason}`);
          if (!plan.rollback || !prev) {
            await tracked.move(plan.moves.failedNoPrevious);
            outcome = await finish(
              "failed",
              `${tag} failed on ${environment} and there is no previous version to roll back to: ${reason}`,
              `fix the service and deploy again; relctl versions ${config.service} --env ${environment} shows what is live`,
            );
            return outcome;
          }
          await tracked.move(plan.moves.rollingBack);
          await holdAfterRollback(
            deps,
            scope,
            release,
            `${tag} failed (${reason}) and was rolled back to ${prev.tag}`,
            actor,
          );
          try {
            await applyItems(scope.apply, plan.rollback);
          } catch (rollbackError) {
            await tracked.move(plan.moves.rollbackFailed);
            outcome = await finish(
              "rollback_failed",
              `${tag} failed on ${environment} (${reason}) and the automatic rollback to ${prev.tag} failed too: ${errorLine(rollbackError)}`,
              `check the hosts, then put ${prev.tag} back: relctl abort ${config.service} --env ${environment}`,
            );
            return outcome;
          }
          await tracked.move(plan.moves.rolledBack);
          outcome = await finish(
            "rolled_back",
            `${tag} failed on ${environment} (${reason}); rolled back to ${prev.tag}`,
          );
          return outcome;
        }
        await deps.runs.recordDeployment({
          service: config.service,
          environment,
          releaseId: release?.id ?? null,
          tag,
          schemaVersion,
          runId: scope.run.id,
          previousState: "superseded",
        });
        await tracked.move(plan.moves.succeeded);
        await applyItems(scope.apply, plan.prune);
        outcome = await finish(
          "succeeded",
          `${config.service} ${tag} is live on ${environment}${prev ? ` (was ${prev.tag})` : ""}${
            plan.role === "open" ? " (an open environment: the release's status is unchanged)" : ""
          }`,
        );
        return outcome;
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await scope.close();
        await takeover?.finish(outcome?.status === "succeeded", outcome?.message).catch(() => {});
      }
    },
  );
}
