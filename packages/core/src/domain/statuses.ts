/** The 14 statuses of a release, exactly as the seed names them. */
export const RELEASE_STATUSES = [
  "initiated",
  "stage_building",
  "stage_building_failed",
  "stage_test_rollback",
  "stage_test_rollback_failed",
  "manual_testing",
  "manual_test_passed",
  "manual_test_failed",
  "deploying",
  "deployed",
  "production_failed",
  "production_rollback",
  "rollback_done",
  "rollback_failed",
] as const;

export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

export function isReleaseStatus(value: string): value is ReleaseStatus {
  return (RELEASE_STATUSES as readonly string[]).includes(value);
}

/**
 * The menu groups (the bot's three menus, `relctl releases --state`). Every status belongs to
 * exactly one. Active: the release is still moving. Successful: it runs in production. Failed: it
 * stopped before production, or its production run failed or was rolled back (automatically or by
 * hand) — a rolled-back release is not a success, and it is never offered as a rollback target.
 */
export type StatusGroup = "active" | "successful" | "failed";

const GROUP: Readonly<Record<ReleaseStatus, StatusGroup>> = {
  initiated: "active",
  stage_building: "active",
  stage_test_rollback: "active",
  manual_testing: "active",
  manual_test_passed: "active",
  deploying: "active",
  production_rollback: "active",
  deployed: "successful",
  rollback_done: "failed",
  stage_building_failed: "failed",
  stage_test_rollback_failed: "failed",
  manual_test_failed: "failed",
  production_failed: "failed",
  rollback_failed: "failed",
};

export function groupOf(status: ReleaseStatus): StatusGroup {
  return GROUP[status];
}

export function statusesIn(group: StatusGroup): ReleaseStatus[] {
  return RELEASE_STATUSES.filter((s) => GROUP[s] === group);
}
