import type { StatusChange } from "@relctl/core";
import { type RelctlError, type ReleaseStatus, toRelctlError } from "@relctl/core";
import type { ApprovalsApi } from "./approvals-client.js";
import type { ActionIo } from "./runner-io.js";

/**
 * Tells the approvals service every status move the job makes, in order, as it happens
 * (`PATCH /release`). A refused or failed report does not stop the runbook half-way (a deploy
 * must finish or roll back); the moves after it are not sent, and the job fails at the end.
 */
export class StatusMirror {
  private readonly remoteIds = new Map<number, number>();
  private failure: RelctlError | undefined;
  private unsent: ReleaseStatus[] = [];
  /** The status the service last confirmed, by remote id. */
  readonly confirmed = new Map<number, ReleaseStatus>();

  constructor(
    private readonly api: ApprovalsApi,
    private readonly io: ActionIo,
    private readonly runUrl: string | undefined,
  ) {}

  /** The job's release `localId` is the service's release `remoteId`. */
  link(localId: number, remoteId: number, status: ReleaseStatus): void {
    this.remoteIds.set(localId, remoteId);
    this.confirmed.set(remoteId, status);
  }

  remoteIdOf(localId: number): number | undefined {
    return this.remoteIds.get(localId);
  }

  readonly onTransition = async (change: StatusChange): Promise<void> => {
    const remoteId = this.remoteIds.get(change.release.id);
    if (remoteId === undefined) return;
    if (this.failure) {
      this.unsent.push(change.release.status);
      return;
    }
    try {
      const remote = await this.api.updateStatus({
        releaseId: remoteId,
        status: change.release.status,
        ...(change.release.rollbackToTag ? { rollbackToTag: change.release.rollbackToTag } : {}),
        ...(this.runUrl ? { githubActionLink: this.runUrl } : {}),
      });
      this.confirmed.set(remoteId, remote.status);
      this.io.info(`approvals service: release #${remoteId} is ${remote.status}`);
    } catch (err) {
      this.failure = toRelctlError(err);
      this.unsent.push(change.release.status);
      this.io.warning(
        `the approvals service was not told that release #${remoteId} is ${change.release.status}: ${this.failure.message}`,
      );
    }
  };

  /** Why the service is behind the job, if it is. */
  problem(): { error: RelctlError; unsent: readonly ReleaseStatus[] } | undefined {
    return this.failure ? { error: this.failure, unsent: this.unsent } : undefined;
  }
}
