import type { ReleaseStore } from "../adapters/postgres/release-store.js";
import type { RunStore } from "../adapters/postgres/run-store.js";
import { validateService } from "../domain/names.js";
import type { Actor } from "../domain/release.js";
import type { DeployHold } from "../domain/run.js";
import { StateError } from "../errors.js";

/**
 * Acknowledges the rollback that holds deploys of a service to an environment: deploys may go on.
 * Audited with who acknowledged it.
 */
export async function acknowledgeHold(
  ports: { runs: Pick<RunStore, "acknowledgeHold">; audit: Pick<ReleaseStore, "appendAudit" | "sql"> },
  input: { service: string; environment: string },
  actor: Actor,
): Promise<DeployHold> {
  const service = validateService(input.service);
  const hold = await ports.runs.acknowledgeHold(service, input.environment, actor.user);
  if (!hold) {
    throw new StateError("no_hold", `deploys of ${service} to ${input.environment} are not held`);
  }
  await ports.audit.appendAudit(ports.audit.sql, actor, "hold.acknowledge", hold.releaseId, null, {
    service,
    environment: input.environment,
    reason: hold.reason,
    held_since: hold.createdAt.toISOString(),
  });
  return hold;
}
