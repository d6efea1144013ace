import { type ReleaseStore, readProductionHistory, UsageError, type WorkflowDispatcher } from "@relctl/core";
import type { GithubSettings } from "../settings.js";
import type { Deployer } from "./deployer.js";

/**
 * Deploys by `workflow_dispatch` of the service's workflow in `<org>/<service>`, with inputs
 * release_id and tag. Restorable versions come from the releases table.
 */
export function createGithubDeployer(deps: {
  readonly store: ReleaseStore;
  readonly dispatcher: WorkflowDispatcher;
  readonly github: Pick<GithubSettings, "org" | "ref" | "deployWorkflow" | "rollbackWorkflow">;
}): Deployer {
  const { store, dispatcher, github } = deps;
  return {
    async deploy(releaseId) {
      const release = await store.requireRelease(releaseId);
      await dispatcher.dispatch({
        owner: github.org,
        repo: release.service,
        workflow: github.deployWorkflow,
        ref: github.ref,
        inputs: { release_id: String(release.id), tag: release.tag },
      });
    },
    async rollback(input) {
      const releaseId =
        input.releaseId ?? (await readProductionHistory(store.sql, input.service)).current?.id;
      await dispatcher.dispatch({
        owner: github.org,
        repo: input.service,
        workflow: github.rollbackWorkflow,
        ref: github.ref,
        inputs: { release_id: String(releaseId ?? ""), tag: input.toTag },
      });
      return "dispatched";
    },
    async restorableVersions(service) {
      return [...(await readProductionHistory(store.sql, service)).restorable];
    },
    async liveReleaseId(service) {
      return (await readProductionHistory(store.sql, service)).current?.id;
    },
  };
}

/** For a service whose deploy is not configured: every deploy fails visibly, never silently. */
export function createUnconfiguredDeployer(store: ReleaseStore, why: string): Deployer {
  const refuse = async () => {
    throw new UsageError("deployer_not_configured", why);
  };
  return {
    deploy: refuse,
    rollback: refuse,
    async restorableVersions(service) {
      return [...(await readProductionHistory(store.sql, service)).restorable];
    },
    async liveReleaseId(service) {
      return (await readProductionHistory(store.sql, service)).current?.id;
    },
  };
}
