import type { ServiceConfig } from "../config/load.js";
import { validateTag } from "../domain/names.js";
import type { Actor } from "../domain/release.js";
import type { RunStatus } from "../domain/run.js";
import { rehearsalTargetOf } from "../domain/versions.js";
import { StateError } from "../errors.js";
import { applyItems } from "../runbook/apply.js";
import { hostContext, planRehearsal, type RehearsalPlan, requireEnvironment } from "../runbook/plan.js";
import {
  connectOrFail,
  errorLine,
  openRun,
  prepareHosts,
  type RunbookDeps,
  type RunOutcome,
  readHistory,
  trackRelease,
  withDeployLock,
} from "./run-scope.js";

export interface RehearseInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly tag: string;
  readonly actor: Actor;
}

/**
 * Plans the rehearsal of `tag` on the stage: its target is the newest good version stage ran
 * before it (what a rollback of `tag` returns to). Reads only. `requireDeployed`: the stage must
 * run `tag` already (false when the stage deploy is about to run, for relctl release's checks).
 */
export async function planRehearsalRun(
  deps: Pick<RunbookDeps, "releases" | "runs">,
  input: RehearseInput,
  options: { requireDeployed?: boolean } = {},
): Promise<RehearsalPlan> {
  const { config, environment } = input;
  const tag = validateTag(input.tag);
  const env = requireEnvironment(config, environment);
  for (const host of env.hosts) hostContext(config, env, host);
  if (env.role !== "stage") {
    throw new StateError(
      "not_stage",
      `env: ${environment} is not the stage environment${config.stage ? ` (the stage is ${config.stage})` : ""}; the rollback is rehearsed on the stage`,
      { hint: "name the stage environment with `stage:` in relctl.yml" },
    );
  }
  const { history, statusOf } = await readHistory(deps, config.service, environment);
  const active = history.find((d) => d.state === "active");
  if (options.requireDeployed !== false && active?.tag !== tag) {
    throw new StateError(
      "not_deployed",
      `${environment} runs ${active?.tag ?? "nothing"}, not ${tag}; deploy ${tag} to ${environment} first`,
    );
  }
  const target = rehearsalTargetOf(history, statusOf, tag);
  return planRehearsal({
    config,
    environment,
    tag,
    target: target ? { tag: target.tag, schemaVersion: target.schemaVersion } : null,
    schemaVersion: active?.tag === tag ? active.schemaVersion : null,
  });
}

/**
 * The rollback rehearsal on stage (the seed's nine steps): roll the schema back with the new code,
 * switch to the previous release and check it, then migrate up again, switch back and check.
 * stage_building → stage_test_rollback → manual_testing | stage_test_rollback_failed.
 */
export async function runRehearsal(deps: RunbookDeps, input: RehearseInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  prepareHosts(deps, config, environment);
  const tag = validateTag(input.tag);
  const release = await deps.releases.findRelease(config.service, tag);
  if (!release)
    throw new StateError(
      "release_not_found",
      `${config.service} ${tag} has no release; deploy it to ${environment} first`,
    );
  if (release.status !== "stage_building") {
    throw new StateError(
      "wrong_status",
      `${config.service} ${tag} is ${release.status}; a rehearsal needs stage_building`,
    );
  }
  const plan = await planRehearsalRun(deps, input);
  const target = plan.target;
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `rehearse ${tag}` },
    async (held) => {
      const scope = await openRun(deps, held, config, environment, {
        kind: "rehearse",
        releaseId: release.id,
        tag,
        fromTag: target?.tag ?? null,
        actor,
      });
      const tracked = trackRelease(deps, actor, release);
      const finish = (status: RunStatus, message: string, hint?: string) =>
        scope.finish({ status, message, hint, release: tracked.current, previousTag: target?.tag ?? null });
      try {
        if (!target) {
          await tracked.move("stage_test_rollback", { rollbackToTag: null });
          await scope.runner.note(
            `first release of ${config.service} on ${environment}: nothing to roll back to`,
          );
          await tracked.move("manual_testing");
          return await finish(
            "succeeded",
            `first release of ${config.service}: nothing to roll back to; ${tag} is ready for manual testing`,
          );
        }
        await connectOrFail(deps, scope, held);
        // Read-only checks first: a refusal leaves the release in stage_building.
        await applyItems(scope.apply, plan.check);
        await tracked.move("stage_test_rollback", { rollbackToTag: target.tag });
        try {
          await scope.runner.note(`rehearsing the rollback ${tag} → ${target.tag}`);
          await applyItems(scope.apply, plan.down);
          await scope.runner.note(`${target.tag} is healthy; restoring ${tag}`);
          await applyItems(scope.apply, plan.up);
        } catch (failure) {
          const reason = errorLine(failure);
          await scope.runner.note(`rehearsal failed: ${reason}; restoring ${tag}`);
          await applyItems(scope.apply, plan.restore);
          await tracked.move("stage_test_rollback_failed");
          return await finish(
            "failed",
            `the rollback rehearsal ${tag} → ${target.tag} failed: ${reason}`,
            "fix the down migrations or the previous release, then tag a new version",
          );
        }
        await tracked.move("manual_testing");
        return await finish(
          "succeeded",
          `rollback ${tag} → ${target.tag} rehearsed on ${environment} (schema and code, down and up); ${tag} is ready for manual testing`,
        );
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await scope.close();
      }
    },
  );
}
