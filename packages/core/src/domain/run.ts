/** Runs of a runbook, their steps, what is deployed where, and deploy locks. */

export type RunKind = "deploy" | "rehearse" | "rollback";
export type RunStatus =
  | "running"
  | "succeeded"
  | "failed"
  | "rolled_back"
  | "rollback_failed"
  /** Its holder died (killed, machine gone); a later run took over and ended its steps. */
  | "interrupted";

export interface Run {
  readonly id: number;
  readonly kind: RunKind;
  readonly service: string;
  readonly environment: string;
  readonly releaseId: number | null;
  readonly tag: string;
  readonly fromTag: string | null;
  readonly status: RunStatus;
  readonly actor: string;
  readonly traceId: string | null;
  readonly error: string | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

export interface StepRecord {
  readonly runId: number;
  readonly host: string;
  readonly step: string;
  readonly title: string;
  readonly argv: readonly string[];
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly connectionLost: boolean;
  readonly durationMs: number;
  readonly outputTail: string;
  readonly ok: boolean;
  readonly startedAt: Date;
}

export interface Deployment {
  readonly id: number;
  readonly service: string;
  readonly environment: string;
  readonly releaseId: number | null;
  readonly tag: string;
  readonly schemaVersion: string | null;
  readonly state: "active" | "superseded" | "rolled_back";
  readonly deployedAt: Date;
}

export interface DeployLock {
  readonly service: string;
  readonly environment: string;
  readonly owner: string;
  readonly reason: string;
  readonly token: string;
  readonly pid: number | null;
  readonly hostname: string | null;
  readonly acquiredAt: Date;
  /** When the holder counts as dead unless it beats again; null: held by hand until released. */
  readonly expiresAt: Date | null;
  /** The holder's last heartbeat. */
  readonly heartbeatAt: Date;
  /** The run holding it, when a run does. */
  readonly runId: number | null;
}

/** Whether the holder is alive: it beat within its lease (a lock taken by hand always is). */
export function lockAlive(lock: DeployLock, now = new Date()): boolean {
  return lock.expiresAt === null || lock.expiresAt.getTime() > now.getTime();
}

export function describeLock(lock: DeployLock, now = new Date()): string {
  const where = lock.hostname ? `, on ${lock.hostname} pid ${lock.pid}` : "";
  const run = lock.runId ? `, run ${lock.runId}` : "";
  if (lock.expiresAt === null)
    return `${lock.owner} (${lock.reason}) by hand since ${lock.acquiredAt.toISOString()}${where}`;
  const beat = Math.max(0, Math.round((now.getTime() - lock.heartbeatAt.getTime()) / 1000));
  return `${lock.owner} (${lock.reason}) since ${lock.acquiredAt.toISOString()}${run}, last heartbeat ${beat}s ago${where}`;
}

/** Deploys of a service to a gated environment held after a rollback, until someone acknowledges it. */
export interface DeployHold {
  readonly id: number;
  readonly service: string;
  readonly environment: string;
  readonly reason: string;
  readonly releaseId: number | null;
  readonly createdBy: string;
  readonly createdAt: Date;
}
