import {
  type ReleaseStore,
  readProductionHistory,
  UsageError,
  type WorkflowDispatch,
  type WorkflowDispatcher,
} from "@relctl/core";
import type { GithubSettings } from "../settings.js";
import type { Deployer, Started } from "./deployer.js";

/**
 * Deploys by `workflow_dispatch` of the service's workflow in `<org>/<service>`, with inputs
 * release_id and tag. Restorable versions come from the releases table.
 */
export function createGithubDeployer(deps: {
  readonly store: ReleaseStore;
  readonly dispatcher: WorkflowDispatcher;
  readonly github: Pick<GithubSettings, "org" | "ref" | "deployWorkflow" | "rollbackWorkflow">;
  /** Hears a failed look-up of the run a dispatch started (the dispatch itself stands). */
  readonly onLookupFailed?: (err: unknown) => void;
}): Deployer {
  const { store, dispatcher, github } = deps;
  /**
   * Dispatches, then asks GitHub once for the run it started, so the card can link it; a run
   * GitHub does not list yet, or a failed look-up, leaves the link to the workflow's own report.
   */
  async function start(d: WorkflowDispatch): Promise<Started> {
    const since = new Date();
    await dispatcher.dispatch(d);
    if (!dispatcher.findDispatchedRun) return {};
    try {
      const run = await dispatcher.findDispatchedRun(d, since);
      return run ? { runUrl: run.url } : {};
    } catch (err) {
      deps.onLookupFailed?.(err);
      return {};
    }
  }
  return {
    async deploy(releaseId) {
      const release = await store.requireRelease(releaseId);
      return start({
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
      const started = await start({
        owner: github.org,
        repo: input.service,
        workflow: github.rollbackWorkflow,
        ref: github.ref,
        inputs: { release_id: String(releaseId ?? ""), tag: input.toTag },
      });
      return { how: "dispatched", ...started };
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
