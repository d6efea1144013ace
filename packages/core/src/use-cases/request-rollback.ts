import {
  type DeployRequest,
  type DeployRequestStore,
  rollbackUnderWay,
} from "../adapters/postgres/deploy-request-store.js";
import type { Member } from "../domain/member.js";
import { authorizeMember } from "../domain/permissions.js";
import type { RestorableVersion } from "../domain/production-history.js";
import type { Actor } from "../domain/release.js";
import { StateError } from "../errors.js";
import { inUseCaseSpan } from "../telemetry.js";

/** What a member's rollback request reads: what runs, what it can go back to, the open requests. */
export interface RollbackRequestPorts {
  readonly deployRequests: Pick<DeployRequestStore, "openRollbackOf" | "requestRollback">;
  /** The release the environment runs now. */
  liveReleaseId(service: string, environment: string): Promise<number | undefined>;
  restorableVersions(service: string, environment: string): Promise<readonly RestorableVersion[]>;
}

export interface RollbackRequestInput {
  /** The member a door has proven (a Telegram press, a personal token). */
  readonly member: Member | undefined;
  readonly service: string;
  readonly environment: string;
  readonly toTag: string;
  readonly actor: Actor;
  /** The release the caller means to roll back (a card's); refused when it no longer runs. */
  readonly releaseId?: number;
  /** How the release is named in a refusal: "hello v1.1.0". */
  readonly releaseLabel?: string;
}

/**
 * A member asks for a rollback, the same through every door (a Telegram button, the API with a
 * personal token): the member may roll back (devops, lead or admin, covering the service and
 * environment), the release is the one the environment runs now, no rollback of the service is
 * open there, and the tag is one it can go back to. The request is written once (a unique index:
 * of concurrent requests one wins, the others are told of it); the approvals service's worker runs
 * it.
 */
export function requestMemberRollback(
  ports: RollbackRequestPorts,
  input: RollbackRequestInput,
): Promise<DeployRequest> {
  return inUseCaseSpan(
    "requestMemberRollback",
    input.actor,
    { "relctl.service": input.service, "relctl.environment": input.environment },
    (actor) => requestRollback(ports, { ...input, actor }),
  );
}

async function requestRollback(
  ports: RollbackRequestPorts,
  input: RollbackRequestInput,
): Promise<DeployRequest> {
  const { service, environment } = input;
  authorizeMember(input.member, {
    action: "rollback",
    service,
    environment,
    policy: { roles: [], order: "any", allowSelfApproval: false },
  });
  const open = await ports.deployRequests.openRollbackOf(service, environment);
  if (open) throw rollbackUnderWay(open);
  const live = await ports.liveReleaseId(service, environment);
  if (live === undefined || (input.releaseId !== undefined && live !== input.releaseId)) {
    throw new StateError(
      "not_live",
      input.releaseId === undefined
        ? `nothing of ${service} runs in ${environment}: there is nothing to roll back`
        : `${input.releaseLabel ?? `release ${input.releaseId}`} no longer runs in ${environment}; roll back from the card of the release that runs now`,
    );
  }
  const versions = await ports.restorableVersions(service, environment);
  const found = versions.find((v) => v.tag === input.toTag);
  if (!found) {
    throw new StateError(
      "not_restorable",
      `${String(input.toTag)} is no longer a version ${service} can roll back to`,
      {
        details: { restorable: versions.map((v) => v.tag) },
      },
    );
  }
  return ports.deployRequests.requestRollback(
    { releaseId: live, service, environment, toTag: found.tag },
    input.actor,
  );
}
