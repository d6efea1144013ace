import type { ServiceConfig } from "../config/load.js";
import type { Deployment } from "../domain/run.js";
import { type DeployedVersion, planVersions } from "../domain/versions.js";
import { requireEnvironment } from "../runbook/plan.js";
import { type RunbookDeps, readHistory } from "./run-scope.js";

export interface VersionsView {
  readonly current: Deployment | undefined;
  readonly restorable: readonly DeployedVersion[];
  readonly history: readonly Deployment[];
}

/**
 * What an environment runs, and what it can be rolled back to: the newest good versions still on
 * the hosts (see planVersions), never a release whose production run ended badly.
 */
export async function listVersions(
  deps: Pick<RunbookDeps, "runs" | "releases">,
  config: ServiceConfig,
  environment: string,
): Promise<VersionsView> {
  const env = requireEnvironment(config, environment);
  const { history, statusOf } = await readHistory(deps, config.service, environment);
  const plan = planVersions(history, statusOf, env.keep);
  return { current: plan.current, restorable: plan.restorable, history };
}
