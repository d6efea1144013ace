import type { RunStore } from "../adapters/postgres/run-store.js";
import type { ServiceConfig } from "../config/load.js";
import type { Actor } from "../domain/release.js";
import { lockAlive, type Run } from "../domain/run.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import { StateError } from "../errors.js";
import { applyItems } from "../runbook/apply.js";
import { hostContext, planRollbackRun, requireEnvironment } from "../runbook/plan.js";
import {
  connectOrFail,
  errorLine,
  holdAfterRollback,
  openRun,
  type RunbookDeps,
  type RunOutcome,
  recordRestored,
  trackRelease,
  withDeployLock,
} from "./run-scope.js";

/** What `abort` needs of runs beyond a runbook's ports. */
export type AbortRuns = Pick<RunStore, "listRuns" | "getRun" | "getLock" | "requestAbort">;

export interface AbortInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly actor: Actor;
  /** How long to wait for a run in progress to stop (default 10 min). */
  readonly waitMs?: number;
}

export type AbortOutcome =
  | { readonly kind: "requested"; readonly run: Run; readonly message: string }
  | { readonly kind: "rolled_back"; readonly outcome: RunOutcome };

/** Release statuses an abort moves on from (the run it rolls back left them there). */
const ABORTABLE: readonly ReleaseStatus[] = ["deploying", "production_rollback", "rollback_failed"];

/**
 * Stops a deploy and puts the environment back on the version it ran before, schema first:
 * - a run in progress (its holder lives, here or on another machine) is asked to stop; it ends its
 *   step on the host and rolls back as its plan says, and abort waits for it;
 * - a run whose holder stopped (killed, machine gone), or whose automatic rollback failed, is rolled
 *   back here: the lock is taken over, whatever of its steps still runs is ended, then migrations go
 *   down with the newer release's code to the recorded schema of the version that ran before, every
 *   host switches back, and each is health-checked. The release ends rollback_done (or
 *   rollback_failed, with what to do).
 */
export async function abortRun(
  deps: RunbookDeps & { readonly runs: RunbookDeps["runs"] & AbortRuns },
  input: AbortInput,
): Promise<AbortOutcome> {
  const { config, environment, actor } = input;
  const env = requireEnvironment(config, environment);
  for (const host of env.hosts) hostContext(config, env, host);
  // A run in progress is asked to stop, and abort waits for it; if its holder stops beating while
  // abort waits (it was killed), abort rolls the run back itself.
  const deadline = Date.now() + (input.waitMs ?? 10 * 60_000);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let lock = await deps.runs.getLock(config.service, environment);
  let asked: number | undefined;
  while (lock && lockAlive(lock) && lock.runId !== null) {
    if (asked !== lock.runId) {
      await deps.runs.requestAbort(lock.runId, actor.user);
      asked = lock.runId;
    }
    const run = (await deps.runs.getRun(lock.runId))!;
    if (run.status !== "running")
      return {
        kind: "requested",
        run,
        message: `run ${run.id} (${run.kind} ${run.tag}) stopped: ${run.status}`,
      };
    if (Date.now() > deadline)
      return { kind: "requested", run, message: `run ${run.id} was asked to stop and is still ending` };
    await sleep(500);
    lock = await deps.runs.getLock(config.service, environment);
  }
  if (asked !== undefined && !lock) {
    const run = (await deps.runs.getRun(asked))!;
    if (run.status !== "running")
      return {
        kind: "requested",
        run,
        message: `run ${run.id} (${run.kind} ${run.tag}) stopped: ${run.status}`,
      };
  }
  if (lock && lockAlive(lock)) {
    throw new StateError(
      "lock_held",
      `${config.service}/${environment} is locked by hand by ${lock.owner} (${lock.reason})`,
      {
        hint: `free it first: relctl lock release ${config.service} --env ${environment}`,
      },
    );
  }
  const [last] = await deps.runs.listRuns({ service: config.service, environment, limit: 1 });
  if (last?.kind !== "deploy" || !["running", "interrupted", "rollback_failed"].includes(last.status)) {
    throw new StateError(
      "nothing_to_abort",
      `no deploy of ${config.service} to ${environment} is in progress, interrupted or left half rolled back${
        last ? ` (the last run, ${last.id}, ${last.kind} ${last.tag}, ended ${last.status})` : ""
      }`,
      {
        hint: `to go back to an earlier version: relctl rollback ${config.service} --to <tag> --env ${environment}`,
      },
    );
  }
  const target = await deps.runs.activeDeployment(config.service, environment);
  if (!target || target.tag === last.tag) {
    throw new StateError(
      "nothing_to_roll_back_to",
      `${environment} has no earlier version on record to put back (the interrupted run deployed ${last.tag})`,
      { hint: `deploy a version again: relctl deploy ${config.service} <tag> --env ${environment}` },
    );
  }
  const release = last.releaseId ? await deps.releases.getRelease(last.releaseId) : undefined;
  const moves = env.role === "gated" && release !== undefined && ABORTABLE.includes(release.status);
  const plan = planRollbackRun({
    config,
    environment,
    fromTag: last.tag,
    // The schema is wherever the run left it: always migrate back to the recorded one.
    fromSchemaVersion: null,
    target: { tag: target.tag, schemaVersion: target.schemaVersion, releaseId: target.releaseId },
    moves,
  });
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `abort ${last.tag}` },
    async (held) => {
      const scope = await openRun(deps, held, config, environment, {
        kind: "rollback",
        releaseId: release?.id ?? null,
        tag: target.tag,
        fromTag: last.tag,
        actor,
      });
      if (last.status === "running")
        await deps.runs.finishRun(
          last.id,
          "interrupted",
          `aborted by ${actor.user}; run ${scope.run.id} rolls it back`,
        );
      const tracked = trackRelease(deps, actor, release);
      const finish = (status: "succeeded" | "rollback_failed", message: string, hint?: string) =>
        scope.finish({ status, message, hint, release: tracked.current, previousTag: last.tag });
      try {
        // Whatever of the aborted run still runs on a host ends first (confirmed), lock or no lock.
        await connectOrFail(deps, scope, held, true);
        if (release?.status === "deploying")
          await tracked.move(plan.moves.rollingBack, { rollbackToTag: target.tag });
        await holdAfterRollback(
          deps,
          scope,
          release,
          `${last.tag} was aborted by ${actor.user}; ${target.tag} put back`,
          actor,
        );
        try {
          await applyItems(scope.apply, plan.steps);
        } catch (failure) {
          if (tracked.current?.status !== "rollback_failed") await tracked.move(plan.moves.rollbackFailed);
          return {
            kind: "rolled_back",
            outcome: await finish(
              "rollback_failed",
              `abort of ${last.tag} on ${environment}: putting back ${target.tag} failed: ${errorLine(failure)}`,
              `check the hosts (relctl doctor), then run again: relctl abort ${config.service} --env ${environment}`,
            ),
          };
        }
        await recordRestored(deps, scope, target);
        await tracked.move(plan.moves.rolledBack);
        return {
          kind: "rolled_back",
          outcome: await finish(
            "succeeded",
            `aborted ${config.service} ${last.tag} on ${environment}: ${target.tag} runs again, schema ${target.schemaVersion ?? "-"}`,
          ),
        };
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await scope.close();
      }
    },
  );
}
