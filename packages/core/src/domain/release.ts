import type { ApprovalRecord } from "./approvals.js";
import type { ReleaseStatus } from "./statuses.js";
import { isTerminal } from "./transitions.js";

/** The door an actor came through; `cli-admin`: the CLI on the database itself (administrator mode). */
export type Channel = "cli" | "cli-admin" | "api" | "telegram" | "action" | "system";

/** Who did something, and through which door. */
export interface Actor {
  readonly user: string;
  readonly channel: Channel;
  /** The operation's trace id (32 hex), stored with what it does. */
  readonly traceId?: string;
  /** The operation's span id (16 hex), the parent of the spans it starts. */
  readonly spanId?: string;
}

export interface ApprovedEntry {
  readonly role: string;
  readonly user: string;
  readonly at: string;
}

export interface Release {
  readonly id: number;
  readonly service: string;
  readonly tag: string;
  /** 1 for a tag's first release; a tag whose release ended is released again as attempt 2, 3, … */
  readonly attempt: number;
  readonly rollbackToTag: string | null;
  readonly status: ReleaseStatus;
  readonly initiatedBy: string;
  readonly githubRunId: string | null;
  readonly githubActionLink: string | null;
  readonly githubRef: string | null;
  readonly approvedList: readonly ApprovedEntry[];
  readonly createdAt: Date;
  readonly startedAt: Date | null;
  readonly completedAt: Date | null;
  readonly updatedAt: Date;
}

export interface ApprovalRow extends ApprovalRecord {
  readonly id: number;
  readonly releaseId: number;
  readonly at: Date;
}

export interface AuditEvent {
  readonly id: number;
  readonly at: Date;
  readonly actor: string;
  readonly channel: Channel;
  readonly action: string;
  readonly releaseId: number | null;
  readonly before: unknown;
  readonly after: unknown;
  readonly traceId: string | null;
}

export interface CreateReleaseInput {
  readonly service: string;
  readonly tag: string;
  readonly rollbackToTag?: string | null;
  readonly githubRunId?: string | null;
  readonly githubActionLink?: string | null;
  readonly githubRef?: string | null;
}

/** Optional fields a status change may also set. */
export interface TransitionFields {
  readonly rollbackToTag?: string | null;
  readonly githubRunId?: string | null;
  readonly githubActionLink?: string | null;
}

/**
 * Whether releasing a tag again starts a new attempt: its latest release has ended (a failed stage
 * build or rehearsal, a rejection, a failed or rolled-back production run). A release still under
 * way, or deployed, is never replaced.
 */
export function startsNewAttempt(latest: Pick<Release, "status"> | undefined): boolean {
  return latest !== undefined && isTerminal(latest.status);
}

/**
 * A create's outcome for the tag's latest release: that release while it is under way, else a
 * new attempt (id `id`, made at `now`), as a store writes it.
 */
export function planReleaseCreate(
  latest: Release | undefined,
  input: CreateReleaseInput & { readonly service: string; readonly tag: string },
  actor: Actor,
  id: number,
  now: Date,
): { release: Release; created: boolean } {
  if (latest && !startsNewAttempt(latest)) return { release: latest, created: false };
  const release: Release = {
    id,
    service: input.service,
    tag: input.tag,
    attempt: (latest?.attempt ?? 0) + 1,
    rollbackToTag: input.rollbackToTag ?? null,
    status: "initiated",
    initiatedBy: actor.user,
    githubRunId: input.githubRunId ?? null,
    githubActionLink: input.githubActionLink ?? null,
    githubRef: input.githubRef ?? null,
    approvedList: [],
    createdAt: now,
    startedAt: null,
    completedAt: null,
    updatedAt: now,
  };
  return { release, created: true };
}
