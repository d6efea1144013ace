import type { Actor, RestorableVersion } from "@relctl/core";

export interface RollbackInput {
  readonly service: string;
  readonly environment: string;
  readonly toTag: string;
  readonly actor: Actor;
  /** The release being rolled back (the one production runs now). */
  readonly releaseId?: number;
  /** The rollback request this run fulfils (it is open while the run lives). */
  readonly requestId?: number;
}

/** What a deployer knows of the workflow run it started: its page, when GitHub lists it already. */
export interface Started {
  readonly runUrl?: string;
}

/**
 * How production is changed for a service: by dispatching its GitHub workflow, or by running the
 * runbook directly (./runbook-deployer.ts). The deploy worker calls it
 * once per claimed request; a failure it can classify is an ExternalError with details.retryable
 * (nothing started) or details.ambiguous (it may have started).
 */
export interface Deployer {
  /** Deploys an approved release to the environment its approvals requested (a gated one). */
  deploy(releaseId: number, environment: string, actor: Actor): Promise<void | Started>;
  /**
   * Rolls back here ("ran"), or hands the rollback to a workflow ("dispatched"): then the request
   * stays open until the workflow reports the release's rollback_done or rollback_failed.
   */
  rollback(input: RollbackInput): Promise<"ran" | "dispatched" | (Started & { readonly how: "dispatched" })>;
  restorableVersions(service: string, environment: string): Promise<RestorableVersion[]>;
  /** The release the environment runs now (the only one whose card offers a rollback). */
  liveReleaseId(service: string, environment: string): Promise<number | undefined>;
}
