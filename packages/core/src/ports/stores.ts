import type { Actor, CreateReleaseInput, Release, TransitionFields } from "../domain/release.js";
import type {
  DeployHold,
  DeployLock,
  Deployment,
  Run,
  RunKind,
  RunStatus,
  StepRecord,
} from "../domain/run.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import type { Mover } from "../domain/transitions.js";

/**
 * What the runbooks read and write of releases. Adapters: PostgreSQL (adapters/postgres) and
 * memory (adapters/memory, used by the action and by fast tests).
 */
export interface ReleasesPort {
  findRelease(service: string, tag: string): Promise<Release | undefined>;
  getRelease(id: number): Promise<Release | undefined>;
  createRelease(input: CreateReleaseInput, actor: Actor): Promise<{ release: Release; created: boolean }>;
  transition(
    id: number,
    to: ReleaseStatus,
    by: Mover,
    actor: Actor,
    fields?: TransitionFields,
  ): Promise<Release>;
}

export interface CreateRunInput {
  kind: RunKind;
  service: string;
  environment: string;
  releaseId: number | null;
  tag: string;
  fromTag: string | null;
  actor: Actor;
  /** The environment needs approvals (the report counts these runs as production's). */
  gated?: boolean;
}

export interface RecordDeploymentInput {
  service: string;
  environment: string;
  releaseId: number | null;
  tag: string;
  schemaVersion: string | null;
  runId: number;
  previousState: "superseded" | "rolled_back";
}

export type LockAttempt =
  | { readonly acquired: true; readonly lock: DeployLock; readonly tookOver?: DeployLock }
  | { readonly acquired: false; readonly holder: DeployLock };

export interface PlaceHoldInput {
  service: string;
  environment: string;
  reason: string;
  releaseId: number | null;
  by: string;
}

export interface AcquireLockInput {
  service: string;
  environment: string;
  owner: string;
  reason: string;
  /** How long the holder lives without a heartbeat; null: held by hand until released. */
  leaseMs: number | null;
}

/** What the runbooks read and write of runs, deployments and deploy locks. */
export interface RunsPort {
  createRun(input: CreateRunInput): Promise<Run>;
  setRunFromTag(id: number, fromTag: string): Promise<void>;
  setRunRelease(id: number, releaseId: number): Promise<void>;
  finishRun(id: number, status: RunStatus, error?: string): Promise<void>;
  recordStep(step: StepRecord): Promise<void>;
  activeDeployment(service: string, environment: string): Promise<Deployment | undefined>;
  /** Newest first. */
  deploymentHistory(service: string, environment: string, limit?: number): Promise<Deployment[]>;
  recordDeployment(input: RecordDeploymentInput): Promise<Deployment>;
  deployedRunTags(service: string, environment: string, limit?: number): Promise<string[]>;
  /** Takes the lock, or names its live holder. A dead holder's lock is taken over (and named). */
  tryAcquireLock(input: AcquireLockInput): Promise<LockAttempt>;
  /** The lock is held by this run (so a takeover can close it as interrupted). */
  setLockRun(lock: DeployLock, runId: number): Promise<void>;
  /** A heartbeat: the holder lives for `leaseMs` more. False when the lock is no longer this holder's. */
  renewLock(lock: DeployLock, leaseMs: number): Promise<boolean>;
  /** The run's host lock token (see Runner.lockHosts). */
  setHostLockToken(runId: number, token: string): Promise<void>;
  /** Whether a host lock token is this installation's, taken by a run that has ended. */
  hostLockTokenEnded(token: string): Promise<boolean>;
  /** Who asked the lock's run to abort (relctl abort from elsewhere), if anyone. */
  abortRequestedBy(runId: number): Promise<string | null>;
  /** The open hold on deploys of a service to an environment (after a rollback there), if any. */
  openHold(service: string, environment: string): Promise<DeployHold | undefined>;
  /** Holds deploys after a rollback (no-op when one is open already). */
  placeHold(input: {
    service: string;
    environment: string;
    reason: string;
    releaseId: number | null;
    by: string;
  }): Promise<void>;
  releaseLock(lock: DeployLock): Promise<void>;
}
