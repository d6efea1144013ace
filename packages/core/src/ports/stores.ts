import type { Actor, CreateReleaseInput, Release, TransitionFields } from "../domain/release.js";
import type { DeployLock, Deployment, Run, RunKind, RunStatus, StepRecord } from "../domain/run.js";
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

export interface AcquireLockInput {
  service: string;
  environment: string;
  owner: string;
  reason: string;
  leaseMs: number;
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
  tryAcquireLock(
    input: AcquireLockInput,
  ): Promise<{ acquired: true; lock: DeployLock } | { acquired: false; holder: DeployLock }>;
  renewLock(lock: DeployLock, leaseMs: number): Promise<boolean>;
  releaseLock(lock: DeployLock): Promise<void>;
}
