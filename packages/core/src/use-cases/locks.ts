import type { ReleaseStore } from "../adapters/postgres/release-store.js";
import type { RunStore } from "../adapters/postgres/run-store.js";
import { validateService } from "../domain/names.js";
import type { Actor } from "../domain/release.js";
import { type DeployLock, describeLock, lockAlive } from "../domain/run.js";
import { validateReason } from "../domain/text.js";
import { StateError, UsageError } from "../errors.js";

type LockPorts = {
  readonly runs: Pick<RunStore, "tryAcquireLock" | "forceReleaseLock" | "listLocks">;
  readonly audit: Pick<ReleaseStore, "appendAudit" | "sql">;
};

/** A lock as JSON documents carry it. */
export function lockJson(l: DeployLock, now = new Date()): Record<string, unknown> {
  return {
    service: l.service,
    environment: l.environment,
    owner: l.owner,
    reason: l.reason,
    by_hand: l.expiresAt === null,
    run_id: l.runId,
    host: l.hostname,
    pid: l.pid,
    acquired_at: l.acquiredAt.toISOString(),
    heartbeat_at: l.heartbeatAt.toISOString(),
    expires_at: l.expiresAt?.toISOString() ?? null,
    alive: lockAlive(l, now),
  };
}

/**
 * Holds a deploy lock by hand during an incident: no deploy, rehearsal or rollback of the service
 * in that environment starts until it is released (`relctl lock release`). It never expires.
 */
export async function acquireLockByHand(
  ports: LockPorts,
  input: { service: string; environment: string; reason: string },
  actor: Actor,
): Promise<DeployLock> {
  const service = validateService(input.service);
  if (!input.reason.trim())
    throw new UsageError("reason_required", "reason: say why the lock is held (e.g. an incident)");
  const reason = validateReason(input.reason);
  const attempt = await ports.runs.tryAcquireLock({
    service,
    environment: input.environment,
    owner: actor.user,
    reason,
    leaseMs: null,
  });
  if (!attempt.acquired) {
    throw new StateError(
      "lock_held",
      `${service}/${input.environment} is locked by ${describeLock(attempt.holder)}`,
    );
  }
  await ports.audit.appendAudit(ports.audit.sql, actor, "lock.acquire", null, null, {
    service,
    environment: input.environment,
    reason,
    ...(attempt.tookOver ? { took_over: attempt.tookOver.owner } : {}),
  });
  return attempt.lock;
}

/** Frees a deploy lock whoever holds it (a lock taken by hand, or one left by a crash). Audited. */
export async function releaseLockByHand(
  ports: LockPorts,
  input: { service: string; environment: string },
  actor: Actor,
): Promise<DeployLock> {
  const service = validateService(input.service);
  const freed = await ports.runs.forceReleaseLock(service, input.environment);
  await ports.audit.appendAudit(
    ports.audit.sql,
    actor,
    "lock.release",
    null,
    { service, environment: input.environment, owner: freed.owner, reason: freed.reason },
    null,
  );
  return freed;
}
