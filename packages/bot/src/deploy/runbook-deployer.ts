import {
  type Actor,
  ExternalError,
  listVersions,
  type ReleaseStore,
  type RestorableVersion,
  type RunbookDeps,
  type RunOutcome,
  runDeploy,
  runRollback,
  type ServiceConfig,
} from "@relctl/core";
import type { Deployer, RollbackInput } from "./deployer.js";

/**
 * Changes production by running relctl's runbooks from this process (SSH to the hosts of the
 * service's relctl.yml). A run that ended badly has already moved the release (rollback_done,
 * rollback_failed, …); the worker is told it ran, so it is never retried.
 */
export function createRunbookDeployer(options: {
  readonly deps: RunbookDeps;
  readonly store: Pick<ReleaseStore, "requireRelease">;
  readonly configFor: (service: string) => Promise<ServiceConfig>;
}): Deployer {
  const { deps, store, configFor } = options;
  const settle = (outcome: RunOutcome) => {
    if (outcome.status === "succeeded") return;
    throw new ExternalError(`run_${outcome.status}`, outcome.message, {
      ...(outcome.hint ? { hint: outcome.hint } : {}),
      details: { retryable: false, status: outcome.status },
    });
  };
  return {
    async deploy(releaseId: number, environment: string, actor: Actor) {
      const release = await store.requireRelease(releaseId);
      const config = await configFor(release.service);
      settle(await runDeploy(deps, { config, environment, tag: release.tag, actor }));
    },
    async rollback(input: RollbackInput) {
      const config = await configFor(input.service);
      settle(
        await runRollback(deps, {
          config,
          environment: input.environment,
          toTag: input.toTag,
          actor: input.actor,
          ...(input.requestId !== undefined ? { requestId: input.requestId } : {}),
        }),
      );
      return "ran" as const;
    },
    async liveReleaseId(service: string, environment: string) {
      return (
        (await listVersions(deps, await configFor(service), environment)).current?.releaseId ?? undefined
      );
    },
    async restorableVersions(service: string, environment: string): Promise<RestorableVersion[]> {
      const view = await listVersions(deps, await configFor(service), environment);
      return view.restorable.flatMap((v) =>
        v.releaseId === null ? [] : [{ tag: v.tag, releaseId: v.releaseId }],
      );
    },
  };
}
