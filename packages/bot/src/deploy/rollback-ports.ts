import type { RollbackRequestPorts } from "@relctl/core";
import type { AppDeps } from "../app-deps.js";

/** The ports of core's requestMemberRollback for a service: its deployer's view of what runs. */
export function rollbackPorts(deps: AppDeps, service: string): RollbackRequestPorts {
  const deployer = deps.deployerFor(service);
  return {
    deployRequests: deps.deploys,
    liveReleaseId: (s, environment) => deployer.liveReleaseId(s, environment),
    restorableVersions: (s, environment) => deployer.restorableVersions(s, environment),
  };
}
