import { StateError } from "../errors.js";
import { RELEASE_STATUSES, type ReleaseStatus } from "./statuses.js";

/**
 * The transition table: from each status, the statuses a release may move to.
 * Stage: initiated → stage_building → stage_test_rollback → manual_testing.
 * Approval: manual_testing → manual_test_passed | manual_test_failed.
 * Production: manual_test_passed → deploying → deployed | production_rollback | production_failed;
 *   production_rollback → rollback_done | rollback_failed.
 * Manual rollback of a deployed release: deployed → production_rollback.
 */
export const TRANSITIONS: Readonly<Record<ReleaseStatus, readonly ReleaseStatus[]>> = {
  initiated: ["stage_building", "stage_building_failed"],
  stage_building: ["stage_test_rollback", "stage_building_failed"],
  stage_building_failed: [],
  stage_test_rollback: ["manual_testing", "stage_test_rollback_failed"],
  stage_test_rollback_failed: [],
  manual_testing: ["manual_test_passed", "manual_test_failed"],
  manual_test_passed: ["deploying"],
  manual_test_failed: [],
  deploying: ["deployed", "production_rollback", "production_failed"],
  deployed: ["production_rollback"],
  production_failed: [],
  production_rollback: ["rollback_done", "rollback_failed"],
  rollback_done: [],
  rollback_failed: [],
};

/** Statuses a release never leaves. */
export const TERMINAL_STATUSES: readonly ReleaseStatus[] = RELEASE_STATUSES.filter(
  (s) => TRANSITIONS[s].length === 0,
);

export function isTerminal(status: ReleaseStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

export function canTransition(from: ReleaseStatus, to: ReleaseStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws a StateError naming both statuses when the move is not in the table. */
export function assertTransition(from: ReleaseStatus, to: ReleaseStatus): void {
  if (canTransition(from, to)) return;
  const allowed = TRANSITIONS[from];
  throw new StateError("illegal_transition", `cannot move a release from ${from} to ${to}`, {
    hint: allowed.length ? `from ${from} it can move to: ${allowed.join(", ")}` : `${from} is final`,
    details: { from, to },
  });
}
