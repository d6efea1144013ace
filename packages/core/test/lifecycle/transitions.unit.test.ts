import { describe, expect, it } from "vitest";
import {
  assertTransition,
  canTransition,
  groupOf,
  MOVERS,
  moversOf,
  RELEASE_STATUSES,
  type ReleaseStatus,
  StateError,
  statusesIn,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from "../../src/index.js";

// The legal moves, written out independently of the table under test.
const LEGAL = new Set([
  "initiated>stage_building",
  "initiated>stage_building_failed",
  "stage_building>stage_test_rollback",
  "stage_building>stage_building_failed",
  "stage_test_rollback>manual_testing",
  "stage_test_rollback>stage_test_rollback_failed",
  "manual_testing>manual_test_passed",
  "manual_testing>manual_test_failed",
  "manual_test_passed>deploying",
  "deploying>deployed",
  "deploying>production_rollback",
  "deploying>production_failed",
  "deployed>production_rollback",
  "production_rollback>rollback_done",
  "production_rollback>rollback_failed",
  "rollback_failed>rollback_done",
]);

// Who may make each legal move, written out independently too.
const APPROVAL_ONLY = new Set(["manual_testing>manual_test_passed", "manual_testing>manual_test_failed"]);
const RUNBOOK_ONLY = new Set(["rollback_failed>rollback_done"]);

describe("lifecycle", () => {
  it("has exactly the seed's 14 statuses", () => {
    expect(RELEASE_STATUSES).toHaveLength(14);
    expect([...RELEASE_STATUSES].sort()).toEqual(
      [
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
      ].sort(),
    );
  });

  const pairs = RELEASE_STATUSES.flatMap((from) => RELEASE_STATUSES.map((to) => [from, to] as const));
  it.each(pairs)("%s → %s follows the table", (from: ReleaseStatus, to: ReleaseStatus) => {
    const legal = LEGAL.has(`${from}>${to}`);
    expect(canTransition(from, to)).toBe(legal);
    if (legal) {
      expect(() => assertTransition(from, to)).not.toThrow();
    } else {
      let error: unknown;
      try {
        assertTransition(from, to);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StateError);
      expect((error as StateError).code).toBe("illegal_transition");
      expect((error as Error).message).toContain(from);
      expect((error as Error).message).toContain(to);
    }
  });

  it("lets only the approvals enter manual_test_passed and manual_test_failed, and names who may", () => {
    for (const move of LEGAL) {
      const [from, to] = move.split(">") as [ReleaseStatus, ReleaseStatus];
      for (const by of MOVERS) {
        const allowed = APPROVAL_ONLY.has(move)
          ? by === "approval"
          : RUNBOOK_ONLY.has(move)
            ? by === "runbook"
            : by !== "approval";
        expect(moversOf(from, to).includes(by), `${move} by ${by}`).toBe(allowed);
        if (allowed) expect(() => assertTransition(from, to, by)).not.toThrow();
        else {
          expect(() => assertTransition(from, to, by)).toThrow(
            expect.objectContaining({ code: "move_not_allowed", kind: "state" }),
          );
        }
      }
    }
    expect(() => assertTransition("manual_testing", "manual_test_passed", "workflow")).toThrow(
      /manual_testing → manual_test_passed is made only by the approvals .*not by a workflow/,
    );
  });

  it("counts 196 pairs and 16 legal moves", () => {
    expect(pairs).toHaveLength(196);
    expect(Object.values(TRANSITIONS).flat()).toHaveLength(LEGAL.size);
  });

  it("names the terminal statuses", () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual(
      [
        "manual_test_failed",
        "production_failed",
        "rollback_done",
        "rollback_failed",
        "stage_building_failed",
        "stage_test_rollback_failed",
      ].sort(),
    );
  });

  it("puts every status in exactly one menu group", () => {
    const all = [...statusesIn("active"), ...statusesIn("successful"), ...statusesIn("failed")];
    expect(all.sort()).toEqual([...RELEASE_STATUSES].sort());
    expect(groupOf("deployed")).toBe("successful");
    expect(groupOf("rollback_done")).toBe("failed");
    expect(groupOf("manual_testing")).toBe("active");
    expect(groupOf("rollback_failed")).toBe("failed");
    expect(groupOf("production_failed")).toBe("failed");
  });
});
