import { describe, expect, it } from "vitest";
import {
  type ApprovalRecord,
  admitDeploy,
  type Deployment,
  parseConfig,
  planVersions,
  primaryGate,
  type Release,
  type ReleaseStatus,
  rehearsalTargetOf,
} from "../../src/index.js";

const config = parseConfig(`
service: shop
repository: /srv/shop.git
environments:
  stage: { path: /s, hosts: [{ address: local }] }
  live: { path: /l, hosts: [{ address: local }] }
  eu: { path: /e, hosts: [{ address: local }], gate: { after: live } }
  preview: { path: /p, hosts: [{ address: local }], gate: { approvals: false } }
`);

const release = (status: ReleaseStatus): Release => ({
  id: 7,
  service: "shop",
  tag: "v2",
  attempt: 1,
  rollbackToTag: null,
  status,
  initiatedBy: "dev",
  githubRunId: null,
  githubActionLink: null,
  githubRef: null,
  approvedList: [],
  createdAt: new Date(0),
  startedAt: null,
  completedAt: null,
  updatedAt: new Date(0),
});
const all: ApprovalRecord[] = [
  { role: "qa", user: "q", decision: "approve" },
  { role: "devops", user: "d", decision: "approve" },
  { role: "lead", user: "l", decision: "approve" },
];
const admit = (env: string, r: Release | undefined, approvals = all, passedAfter = true) =>
  admitDeploy({ config, env: config.environments[env]!, tag: "v2", release: r, approvals, passedAfter });

describe("gates per environment, not per name", () => {
  it("gates every environment but the stage unless it says approvals: false", () => {
    expect(Object.values(config.environments).map((e) => [e.name, e.role, e.gate.after])).toEqual([
      ["stage", "stage", null],
      ["live", "gated", "stage"],
      ["eu", "gated", "live"],
      ["preview", "open", null],
    ]);
    expect(primaryGate(config)?.name).toBe("live");
  });

  it("never admits a gated environment without an approved release", () => {
    expect(() => admit("live", undefined)).toThrow(/has no release; live needs an approved release/);
    for (const status of ["initiated", "manual_testing", "manual_test_failed", "rollback_done"] as const)
      expect(() => admit("live", release(status)), status).toThrow(
        expect.objectContaining({ code: "not_approved" }),
      );
    expect(() => admit("live", release("manual_test_passed"), all.slice(0, 2))).toThrow(/lacks approvals/);
    expect(admit("live", release("manual_test_passed"))).toEqual({ create: false, moves: true });
    expect(admit("live", release("deployed"))).toEqual({ create: false, moves: false });
    expect(admit("live", release("deploying"))).toEqual({ create: false, moves: true, resume: true });
  });

  it("takes a release to an environment only after the one its gate names", () => {
    expect(() => admit("eu", release("deployed"), all, false)).toThrow(
      /has not run in live; eu takes it after live/,
    );
    expect(admit("eu", release("deployed"), all, true)).toEqual({ create: false, moves: false });
  });

  it("deploys to an open environment without touching the release", () => {
    expect(admit("preview", undefined, [])).toEqual({ create: false, moves: false });
  });

  it("on stage: creates a new release or a new attempt, refuses one under way or deployed", () => {
    expect(admit("stage", undefined, [])).toEqual({ create: true, moves: true });
    expect(admit("stage", release("rollback_done"), [])).toEqual({ create: true, moves: true });
    expect(admit("stage", release("initiated"), [])).toEqual({ create: false, moves: true });
    for (const status of ["manual_testing", "deployed", "deploying"] as const)
      expect(() => admit("stage", release(status), []), status).toThrow(
        expect.objectContaining({ code: "release_in_progress" }),
      );
  });

  it("rejects a stage that needs approvals and a gate after an unknown environment", () => {
    expect(() =>
      parseConfig(
        "service: a\nenvironments:\n  stage: { path: /s, hosts: [{ address: local }], gate: { approvals: true } }\n",
      ),
    ).toThrow(/environments.stage.gate.approvals: the stage environment cannot need approvals/);
    expect(() =>
      parseConfig(
        "service: a\nenvironments:\n  prod: { path: /s, hosts: [{ address: local }], gate: { after: qa } }\n",
      ),
    ).toThrow(/environments.prod.gate.after: expected another configured environment/);
  });
});

describe("what stays on the hosts", () => {
  const d = (
    id: number,
    tag: string,
    releaseId: number,
    state: Deployment["state"] = "superseded",
  ): Deployment => ({
    id,
    service: "shop",
    environment: "stage",
    releaseId,
    tag,
    schemaVersion: String(id),
    state,
    deployedAt: new Date(id * 1000),
  });
  // Newest first: v4 live; v3 was rolled back in production; v2 and v1 are good.
  const history = [d(4, "v4", 4, "active"), d(3, "v3", 3), d(2, "v2", 2), d(1, "v1", 1)];
  const statusOf = (id: number): ReleaseStatus => (id === 3 ? "rollback_done" : "deployed");

  it("keeps the live release and the newest good ones, past a rolled-back release", () => {
    const plan = planVersions(history, statusOf, 2);
    expect(plan.restorable.map((v) => v.tag)).toEqual(["v2"]);
    expect(plan.kept).toEqual(["v4", "v2"]);
    expect(rehearsalTargetOf(history, statusOf, "v4")?.tag).toBe("v2");
  });

  it("keeps at least one version to go back to, even with keep: 1", () => {
    expect(planVersions(history, statusOf, 1).kept).toEqual(["v4", "v2"]);
  });
});

describe("freeze windows", () => {
  const frozen = parseConfig(`
service: shop
repository: /srv/shop.git
environments:
  prod:
    path: /p
    hosts: [{ address: local }]
    gate: { approvals: false }
    freeze: [{ from: "2026-12-24T00:00:00Z", to: "2026-12-27T00:00:00Z", reason: "holidays" }]
`);
  const env = frozen.environments.prod!;
  const at = (iso: string, override?: { by: string; roles: string[]; reason: string }) =>
    admitDeploy({
      config: frozen,
      env,
      tag: "v2",
      release: undefined,
      approvals: [],
      passedAfter: true,
      now: new Date(iso),
      override,
    });

  it("refuses inside a window, lets a lead override it, and deploys outside it", () => {
    expect(() => at("2026-12-25T12:00:00Z")).toThrow(
      /prod is frozen until 2026-12-27T00:00:00.000Z: holidays/,
    );
    expect(() => at("2026-12-25T12:00:00Z", { by: "quinn", roles: ["qa"], reason: "x" })).toThrow(
      expect.objectContaining({ code: "override_not_allowed" }),
    );
    expect(at("2026-12-25T12:00:00Z", { by: "lee", roles: ["lead"], reason: "hotfix" })).toEqual({
      create: false,
      moves: false,
    });
    expect(at("2026-12-27T00:00:00Z")).toEqual({ create: false, moves: false });
  });

  it("refuses a window that ends before it starts", () => {
    expect(() =>
      parseConfig(
        'service: a\nenvironments:\n  p: { path: /p, hosts: [{ address: local }], freeze: [{ from: "2026-12-27T00:00:00Z", to: "2026-12-24T00:00:00Z", reason: r }] }\n',
      ),
    ).toThrow(/environments.p.freeze\[0\]: to must be after from/);
  });
});
