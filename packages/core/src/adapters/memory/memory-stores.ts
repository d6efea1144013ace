import type { ApprovalRecord } from "../../domain/approvals.js";
import { validateService, validateTag } from "../../domain/names.js";
import {
  type Actor,
  type CreateReleaseInput,
  planReleaseCreate,
  type Release,
  type TransitionFields,
} from "../../domain/release.js";
import {
  type DeployHold,
  type DeployLock,
  type Deployment,
  lockAlive,
  type Run,
  type RunStatus,
  type StepRecord,
} from "../../domain/run.js";
import type { ReleaseStatus } from "../../domain/statuses.js";
import { assertTransition, isTerminal, type Mover } from "../../domain/transitions.js";
import type {
  AcquireLockInput,
  CreateRunInput,
  LockAttempt,
  PlaceHoldInput,
  RecordDeploymentInput,
} from "../../ports/stores.js";
import type { RunbookReleases, RunbookRuns } from "../../use-cases/run-scope.js";

/** A status move made during the job, in the order it happened. */
export interface StatusChange {
  readonly release: Release;
  readonly from: ReleaseStatus;
  readonly actor: Actor;
}

/**
 * The releases of one job, in memory. The runner is thrown away after the job, so relctl keeps no
 * database here: the approvals service (when configured) holds the releases, GitHub Deployments
 * hold what ran where. Status moves follow the same transition table as everywhere else.
 */
export class MemoryReleaseStore implements RunbookReleases {
  private readonly byId = new Map<number, Release>();
  private readonly approvals = new Map<number, ApprovalRecord[]>();
  private nextId = 1;

  /** `onTransition` hears every status move right after it is made (the job reports it onwards). */
  constructor(private readonly onTransition?: (change: StatusChange) => Promise<void>) {}

  async createRelease(
    input: CreateReleaseInput,
    actor: Actor,
  ): Promise<{ release: Release; created: boolean }> {
    const service = validateService(input.service);
    const tag = validateTag(input.tag);
    const existing = await this.findRelease(service, tag);
    const planned = planReleaseCreate(existing, { ...input, service, tag }, actor, this.nextId, new Date());
    if (planned.created) this.byId.set(this.nextId++, planned.release);
    return planned;
  }

  /** Takes in a release as the approvals service has it, at its current status. */
  adopt(input: {
    /** Keep the service's id, so messages name the release as everyone else sees it. */
    id?: number;
    service: string;
    tag: string;
    status: ReleaseStatus;
    rollbackToTag?: string | null;
    initiatedBy?: string;
    /** The decisions the approvals service holds (the gates check them). */
    approvals?: readonly ApprovalRecord[];
  }): Release {
    const now = new Date();
    const id = input.id ?? this.nextId;
    if (this.byId.has(id)) throw new Error(`release ${id} is already in this job`);
    this.nextId = Math.max(this.nextId, id + 1);
    const release: Release = {
      id,
      service: validateService(input.service),
      tag: validateTag(input.tag),
      attempt: 1,
      rollbackToTag: input.rollbackToTag ?? null,
      status: input.status,
      initiatedBy: input.initiatedBy ?? "approvals-service",
      githubRunId: null,
      githubActionLink: null,
      githubRef: null,
      approvedList: [],
      createdAt: now,
      startedAt: now,
      completedAt: null,
      updatedAt: now,
    };
    this.byId.set(release.id, release);
    this.approvals.set(release.id, [...(input.approvals ?? [])]);
    return release;
  }

  async listApprovals(releaseId: number): Promise<readonly ApprovalRecord[]> {
    return this.approvals.get(releaseId) ?? [];
  }

  async getRelease(id: number): Promise<Release | undefined> {
    return this.byId.get(id);
  }

  /** The tag's latest attempt. */
  async findRelease(service: string, tag: string): Promise<Release | undefined> {
    let latest: Release | undefined;
    for (const r of this.byId.values())
      if (r.service === service && r.tag === tag && (!latest || r.attempt > latest.attempt)) latest = r;
    return latest;
  }

  async transition(
    id: number,
    to: ReleaseStatus,
    by: Mover,
    actor: Actor,
    fields: TransitionFields = {},
  ): Promise<Release> {
    const before = this.byId.get(id);
    if (!before) throw new Error(`release ${id} is not in this job`);
    if (fields.rollbackToTag) validateTag(fields.rollbackToTag, "rollback_to_tag");
    assertTransition(before.status, to, by);
    const now = new Date();
    const after: Release = {
      ...before,
      status: to,
      rollbackToTag: fields.rollbackToTag === undefined ? before.rollbackToTag : fields.rollbackToTag,
      githubRunId: fields.githubRunId === undefined ? before.githubRunId : fields.githubRunId,
      githubActionLink:
        fields.githubActionLink === undefined ? before.githubActionLink : fields.githubActionLink,
      startedAt: before.startedAt ?? now,
      completedAt: isTerminal(to) ? now : null,
      updatedAt: now,
    };
    this.byId.set(id, after);
    await this.onTransition?.({ release: after, from: before.status, actor });
    return after;
  }
}

/** Runs, their steps, deployments and deploy locks of one job, in memory. */
export class MemoryRunStore implements RunbookRuns {
  private readonly runs = new Map<number, Run>();
  private readonly steps: StepRecord[] = [];
  private readonly deployments: Deployment[] = [];
  private readonly locks = new Map<string, DeployLock>();
  private nextRunId = 1;
  private nextDeploymentId = 1;

  async createRun(input: CreateRunInput): Promise<Run> {
    const run: Run = {
      id: this.nextRunId++,
      kind: input.kind,
      service: input.service,
      environment: input.environment,
      releaseId: input.releaseId,
      tag: input.tag,
      fromTag: input.fromTag,
      status: "running",
      actor: input.actor.user,
      traceId: input.actor.traceId ?? null,
      error: null,
      startedAt: new Date(),
      finishedAt: null,
    };
    this.runs.set(run.id, run);
    return run;
  }

  async setRunFromTag(id: number, fromTag: string): Promise<void> {
    const run = this.runs.get(id);
    if (run) this.runs.set(id, { ...run, fromTag });
  }

  async setRunRelease(id: number, releaseId: number): Promise<void> {
    const run = this.runs.get(id);
    if (run) this.runs.set(id, { ...run, releaseId });
  }

  async finishRun(id: number, status: RunStatus, error?: string): Promise<void> {
    const run = this.runs.get(id);
    if (run) this.runs.set(id, { ...run, status, error: error ?? null, finishedAt: new Date() });
  }

  async getRun(id: number): Promise<Run | undefined> {
    return this.runs.get(id);
  }

  async recordStep(step: StepRecord): Promise<void> {
    this.steps.push(step);
  }

  async listSteps(runId: number): Promise<StepRecord[]> {
    return this.steps.filter((s) => s.runId === runId);
  }

  async activeDeployment(service: string, environment: string): Promise<Deployment | undefined> {
    return this.deployments.find(
      (d) => d.service === service && d.environment === environment && d.state === "active",
    );
  }

  async deploymentHistory(service: string, environment: string, limit = 100): Promise<Deployment[]> {
    return this.deployments
      .filter((d) => d.service === service && d.environment === environment)
      .sort((a, b) => b.id - a.id)
      .slice(0, limit);
  }

  async recordDeployment(input: RecordDeploymentInput): Promise<Deployment> {
    for (const [i, d] of this.deployments.entries()) {
      if (d.service === input.service && d.environment === input.environment && d.state === "active") {
        this.deployments[i] = { ...d, state: input.previousState };
      }
    }
    const deployment: Deployment = {
      id: this.nextDeploymentId++,
      service: input.service,
      environment: input.environment,
      releaseId: input.releaseId,
      tag: input.tag,
      schemaVersion: input.schemaVersion,
      state: "active",
      deployedAt: new Date(),
    };
    this.deployments.push(deployment);
    return deployment;
  }

  async deployedRunTags(service: string, environment: string, limit = 50): Promise<string[]> {
    const last = new Map<string, number>();
    for (const run of this.runs.values()) {
      if (run.service === service && run.environment === environment && run.kind === "deploy") {
        last.set(run.tag, Math.max(last.get(run.tag) ?? 0, run.id));
      }
    }
    return [...last.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([tag]) => tag);
  }

  async tryAcquireLock(input: AcquireLockInput): Promise<LockAttempt> {
    const key = `${input.service}/${input.environment}`;
    const held = this.locks.get(key);
    const now = new Date();
    if (held && lockAlive(held, now)) return { acquired: false, holder: held };
    const lock: DeployLock = {
      service: input.service,
      environment: input.environment,
      owner: input.owner,
      reason: input.reason,
      token: `${key}#${now.getTime()}`,
      pid: process.pid,
      hostname: null,
      acquiredAt: now,
      expiresAt: input.leaseMs === null ? null : new Date(now.getTime() + input.leaseMs),
      heartbeatAt: now,
      runId: null,
    };
    this.locks.set(key, lock);
    return { acquired: true, lock, ...(held ? { tookOver: held } : {}) };
  }

  async setLockRun(lock: DeployLock, runId: number): Promise<void> {
    const key = `${lock.service}/${lock.environment}`;
    const held = this.locks.get(key);
    if (held?.token === lock.token) this.locks.set(key, { ...held, runId });
  }

  private readonly hostTokens = new Map<string, number>();

  async setHostLockToken(runId: number, token: string): Promise<void> {
    this.hostTokens.set(token, runId);
  }

  async hostLockTokenEnded(token: string): Promise<boolean> {
    const runId = this.hostTokens.get(token);
    return runId !== undefined && this.runs.get(runId)?.status !== "running";
  }

  async abortRequestedBy(): Promise<string | null> {
    return null;
  }

  private readonly holds = new Map<string, DeployHold>();

  async openHold(service: string, environment: string): Promise<DeployHold | undefined> {
    return this.holds.get(`${service}/${environment}`);
  }

  async placeHold(input: PlaceHoldInput): Promise<void> {
    const key = `${input.service}/${input.environment}`;
    if (this.holds.has(key)) return;
    const { by, ...hold } = input;
    this.holds.set(key, { id: this.holds.size + 1, ...hold, createdBy: by, createdAt: new Date() });
  }

  async renewLock(lock: DeployLock, leaseMs: number): Promise<boolean> {
    const key = `${lock.service}/${lock.environment}`;
    const held = this.locks.get(key);
    if (held?.token !== lock.token) return false;
    this.locks.set(key, { ...held, expiresAt: new Date(Date.now() + leaseMs), heartbeatAt: new Date() });
    return true;
  }

  async releaseLock(lock: DeployLock): Promise<void> {
    const key = `${lock.service}/${lock.environment}`;
    if (this.locks.get(key)?.token === lock.token) this.locks.delete(key);
  }
}
