import { StateError } from "../errors.js";
import { RELEASE_STATUSES, type ReleaseStatus } from "./statuses.js";

/**
 * Who may make a move:
 * - `approval`: the approve/reject use-case, and only it (the approval policy decides);
 * - `runbook`: relctl's own runbooks (stage deploy, rehearsal, production deploy, rollback);
 * - `workflow`: a CI workflow reporting the steps it runs itself (PATCH /release, `relctl release
 *   update`, the action). Production moves start from manual_test_passed, which only `approval`
 *   can enter, so a workflow can move production statuses only for a release that passed its
 *   approvals.
 */
export type Mover = "approval" | "runbook" | "workflow";

export const MOVERS: readonly Mover[] = ["approval", "runbook", "workflow"];

const RUN: readonly Mover[] = ["runbook", "workflow"];
const APPROVAL: readonly Mover[] = ["approval"];

/**
 * The transition table: from each status, the statuses a release may move to, and who may make
 * each move.
 * Stage: initiated → stage_building → stage_test_rollback → manual_testing.
 * Approval: manual_testing → manual_test_passed | manual_test_failed.
 * Production: manual_test_passed → deploying → deployed | production_rollback | production_failed;
 *   production_rollback → rollback_done | rollback_failed.
 * Manual rollback of a deployed release: deployed → production_rollback.
 * Repair of a failed rollback (relctl abort): rollback_failed → rollback_done.
 */
export const MOVES: Readonly<
  Record<ReleaseStatus, Readonly<Partial<Record<ReleaseStatus, readonly Mover[]>>>>
> = {
  initiated: { stage_building: RUN, stage_building_failed: RUN },
  stage_building: { stage_test_rollback: RUN, stage_building_failed: RUN },
  stage_building_failed: {},
  stage_test_rollback: { manual_testing: RUN, stage_test_rollback_failed: RUN },
  stage_test_rollback_failed: {},
  manual_testing: { manual_test_passed: APPROVAL, manual_test_failed: APPROVAL },
  manual_test_passed: { deploying: RUN },
  manual_test_failed: {},
  deploying: { deployed: RUN, production_rollback: RUN, production_failed: RUN },
  deployed: { production_rollback: RUN },
  production_failed: {},
  production_rollback: { rollback_done: RUN, rollback_failed: RUN },
  rollback_done: {},
  // A failed rollback stays on record; `relctl abort` putting the previous version back after it
  // ends it rollback_done.
  rollback_failed: { rollback_done: ["runbook"] },
};

/** From each status, the statuses a release may move to (whoever moves it). */
export const TRANSITIONS: Readonly<Record<ReleaseStatus, readonly ReleaseStatus[]>> = Object.fromEntries(
  RELEASE_STATUSES.map((s) => [s, Object.keys(MOVES[s]) as ReleaseStatus[]]),
) as unknown as Record<ReleaseStatus, readonly ReleaseStatus[]>;

/**
 * Statuses in which a release's run has ended (completed_at is set; the tag can be released again
 * as a new attempt): every status with no move out, and rollback_failed, which only a repair leaves.
 */
export const TERMINAL_STATUSES: readonly ReleaseStatus[] = RELEASE_STATUSES.filter(
  (s) => TRANSITIONS[s].length === 0 || s === "rollback_failed",
);

export function isTerminal(status: ReleaseStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

export function canTransition(from: ReleaseStatus, to: ReleaseStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Who may move a release from `from` to `to` (empty when the table has no such move). */
export function moversOf(from: ReleaseStatus, to: ReleaseStatus): readonly Mover[] {
  return MOVES[from][to] ?? [];
}

const MOVER_NAMES: Readonly<Record<Mover, string>> = {
  approval: "the approvals (relctl approve / reject, the Telegram buttons)",
  runbook: "relctl's runbooks (relctl release, deploy, rollback)",
  workflow: "a workflow (PATCH /release, relctl release update)",
};

/**
 * Throws a StateError naming the move and who may make it when the table has no such move, or
 * when `by` may not make it. Pure.
 */
export function assertTransition(from: ReleaseStatus, to: ReleaseStatus, by?: Mover): void {
  if (!canTransition(from, to)) {
    const allowed = TRANSITIONS[from];
    throw new StateError("illegal_transition", `cannot move a release from ${from} to ${to}`, {
      hint: allowed.length ? `from ${from} it can move to: ${allowed.join(", ")}` : `${from} is final`,
      details: { from, to },
    });
  }
  if (by === undefined) return;
  const movers = moversOf(from, to);
  if (movers.includes(by)) return;
  throw new StateError(
    "move_not_allowed",
    `${from} → ${to} is made only by ${movers.map((m) => MOVER_NAMES[m]).join(" or ")}, not by ${MOVER_NAMES[by]}`,
    {
      hint:
        to === "manual_test_passed" || to === "manual_test_failed"
          ? "approve or reject the release: relctl approve <id> --role <role>"
          : `see the lifecycle in the README`,
      details: { from, to, by, movers },
    },
  );
}
