import type { Deployment } from "./run.js";
import type { ReleaseStatus } from "./statuses.js";

/** A version an environment ran, that it can go back to. */
export interface DeployedVersion {
  readonly tag: string;
  readonly releaseId: number | null;
  readonly schemaVersion: string | null;
  readonly deployedAt: Date;
}

/** Releases whose production run ended badly are never offered as rollback (or rehearsal) targets. */
export const BAD_RELEASE_STATUSES: readonly ReleaseStatus[] = [
  "production_failed",
  "production_rollback",
  "rollback_done",
  "rollback_failed",
];

export interface VersionsPlan {
  readonly current: Deployment | undefined;
  /** What a rollback can go to: the newest good versions but the current, at most max(keep − 1, 1). */
  readonly restorable: readonly DeployedVersion[];
  /** What stays on the hosts: the current release and every restorable one. Pruning removes only others. */
  readonly kept: readonly string[];
}

const asVersion = (d: Deployment): DeployedVersion => ({
  tag: d.tag,
  releaseId: d.releaseId,
  schemaVersion: d.schemaVersion,
  deployedAt: d.deployedAt,
});

/**
 * From an environment's deployment history (newest first) and the status of each release: what
 * runs, what a rollback can go to, and what must stay on the hosts. Pure. The rehearsal's target
 * (`restorable[0]` after the new release is deployed) is always kept, so pruning can never remove
 * the live release, the rehearsal target or a version still offered for rollback.
 */
export function planVersions(
  history: readonly Deployment[],
  statusOf: (releaseId: number) => ReleaseStatus | undefined,
  keep: number,
): VersionsPlan {
  const current = history.find((d) => d.state === "active");
  const restorable: DeployedVersion[] = [];
  const seen = new Set<string>(current ? [current.tag] : []);
  for (const d of history) {
    if (restorable.length >= Math.max(keep - 1, 1)) break;
    if (seen.has(d.tag)) continue;
    seen.add(d.tag);
    const status = d.releaseId === null ? undefined : statusOf(d.releaseId);
    if (status && BAD_RELEASE_STATUSES.includes(status)) continue;
    restorable.push(asVersion(d));
  }
  return {
    current,
    restorable,
    kept: [...(current ? [current.tag] : []), ...restorable.map((v) => v.tag)],
  };
}

/**
 * The version a rehearsal of `tag` rolls back to: the newest good version of the environment
 * other than `tag` (what a rollback of `tag` would return to). Pure.
 */
export function rehearsalTargetOf(
  history: readonly Deployment[],
  statusOf: (releaseId: number) => ReleaseStatus | undefined,
  tag: string,
): DeployedVersion | undefined {
  for (const d of history) {
    if (d.tag === tag) continue;
    const status = d.releaseId === null ? undefined : statusOf(d.releaseId);
    if (status && BAD_RELEASE_STATUSES.includes(status)) continue;
    return asVersion(d);
  }
  return undefined;
}

/** The history as it will be once `tag` is deployed: for planning what stays after the deploy. */
export function withDeployed(
  history: readonly Deployment[],
  next: { service: string; environment: string; tag: string; releaseId: number | null },
): Deployment[] {
  return [
    { ...next, id: Number.MAX_SAFE_INTEGER, schemaVersion: null, state: "active", deployedAt: new Date(0) },
    ...history.map((d) => (d.state === "active" ? { ...d, state: "superseded" as const } : d)),
  ];
}
