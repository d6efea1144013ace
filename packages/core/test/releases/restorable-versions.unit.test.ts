import { describe, expect, it } from "vitest";
import { planProductionHistory, type Release, type ReleaseStatus } from "../../src/index.js";

let id = 0;
function release(
  tag: string,
  status: ReleaseStatus,
  minute: number,
  rollbackToTag: string | null = null,
): Release {
  const at = new Date(Date.UTC(2026, 0, 1, 0, minute));
  return {
    id: ++id,
    service: "auth",
    tag,
    attempt: 1,
    rollbackToTag,
    status,
    initiatedBy: "ci",
    githubRunId: null,
    githubActionLink: null,
    githubRef: null,
    approvedList: [],
    createdAt: at,
    startedAt: at,
    completedAt: at,
    updatedAt: at,
  };
}

describe("planProductionHistory", () => {
  it("offers deployed releases other than the current one, newest first, never a bad one", () => {
    const h = planProductionHistory([
      release("v1.1.9", "deployed", 1),
      release("v1.2.0", "rollback_done", 2, "v1.1.9"),
      release("v1.2.1", "deployed", 3),
      release("v1.2.2", "deployed", 4),
      release("v1.2.3", "deployed", 5),
      release("v1.3.0", "manual_testing", 6),
    ]);
    expect(h.currentTag).toBe("v1.2.3");
    expect(h.current?.tag).toBe("v1.2.3");
    expect(h.restorable.map((v) => v.tag)).toEqual(["v1.2.2", "v1.2.1", "v1.1.9"]);
  });

  it("after a rollback, production runs the rollback's target and the rolled-back release is bad", () => {
    const h = planProductionHistory([
      release("v1.2.1", "deployed", 1),
      release("v1.2.2", "deployed", 2),
      release("v1.2.3", "rollback_done", 3, "v1.2.1"),
      release("v1.2.4", "rollback_failed", 0),
    ]);
    expect(h.currentTag).toBe("v1.2.1");
    expect(h.restorable.map((v) => v.tag)).toEqual(["v1.2.2"]);
  });

  it("knows nothing about a service that never reached production", () => {
    expect(planProductionHistory([release("v1", "initiated", 1)])).toEqual({
      currentTag: undefined,
      current: undefined,
      restorable: [],
    });
  });
});
