/** Runs of a runbook, their steps, what is deployed where, and deploy locks. */

export type RunKind = "deploy" | "rehearse" | "rollback";
export type RunStatus = "running" | "succeeded" | "failed" | "rolled_back" | "rollback_failed";

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
  readonly expiresAt: Date;
}

export function describeLock(lock: DeployLock, now = new Date()): string {
  const left = Math.max(0, Math.round((lock.expiresAt.getTime() - now.getTime()) / 1000));
  return `${lock.owner} (${lock.reason}) since ${lock.acquiredAt.toISOString()}, lease ends in ${left}s${lock.hostname ? `, on ${lock.hostname} pid ${lock.pid}` : ""}`;
}
