import type { Release } from "./release.js";
import type { ReleaseStatus } from "./statuses.js";

export interface RestorableVersion {
  readonly tag: string;
  readonly releaseId: number;
}

/** A release that was rolled back (or whose rollback ran or failed) is bad: never offered again. */
export const BAD_STATUSES: readonly ReleaseStatus[] = [
  "production_rollback",
  "rollback_done",
  "rollback_failed",
];

export const PRODUCTION_STATUSES: readonly ReleaseStatus[] = ["deployed", ...BAD_STATUSES];

export interface ProductionHistory {
  /** The tag production runs now, as far as the releases table knows. */
  readonly currentTag: string | undefined;
  /** The release that put the current tag there. */
  readonly current: Release | undefined;
  /** Deployed, never-bad releases other than the current one, newest first. */
  readonly restorable: readonly RestorableVersion[];
}

const finished = (r: Release) => (r.completedAt ?? r.updatedAt).getTime();

/**
 * Reads production's history from a service's releases. Pure. The most recent production event
 * decides what runs now: a deployed release runs its tag; a finished rollback runs its
 * rollback_to_tag. Restorable: every other deployed release, newest first, never a bad one.
 */
export function planProductionHistory(releases: readonly Release[]): ProductionHistory {
  const events = releases
    .filter((r) => PRODUCTION_STATUSES.includes(r.status))
    .sort((a, b) => finished(b) - finished(a) || b.id - a.id);
  const latest = events[0];
  const currentTag =
    latest?.status === "rollback_done" ? (latest.rollbackToTag ?? undefined) : (latest?.tag ?? undefined);
  const bad = new Set(events.filter((r) => BAD_STATUSES.includes(r.status)).map((r) => r.tag));
  const deployed = events.filter((r) => r.status === "deployed");
  const current = deployed.find((r) => r.tag === currentTag);
  const restorable = deployed
    .filter((r) => r.tag !== currentTag && !bad.has(r.tag))
    .map((r) => ({ tag: r.tag, releaseId: r.id }));
  return { currentTag, current, restorable };
}
