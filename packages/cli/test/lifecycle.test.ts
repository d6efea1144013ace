import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  createMiniService,
  createPostgresTestDatabase,
  type MiniService,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

/**
 * The lifecycle as a user drives it with the CLI, on a service relctl has never seen (hosts on
 * this machine, a real HTTP service per host, its own schema): the gates per environment, and
 * each status that used to stick or lie.
 */
describe("lifecycle through the CLI: gates and statuses that tell the truth", () => {
  let t: TestDatabase;
  let svc: MiniService;
  let env: Record<string, string>;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_lifecycle");
    svc = await createMiniService({
      tags: [
        { tag: "v1", schema: 1 },
        { tag: "v2", schema: 2 },
        { tag: "v3", schema: 3, unhealthy: "production" },
        { tag: "v4", schema: 3 },
        { tag: "v5", schema: 3, brokenStart: true },
      ],
      environments: {
        stage: { hosts: 1, keep: 2 },
        production: { hosts: 2 },
        live: { hosts: 1 },
        preview: { hosts: 1, extra: "    gate: { approvals: false }" },
      },
    });
    env = { DATABASE_URL: t.url!, RELCTL_CONFIG: svc.configFile, RELCTL_USER: "dev" };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await t?.drop();
  });

  const cli = (...args: string[]) => runCli(args, env, svc.dir);
  const count = async (table: string) =>
    Number((await t.db.sql.unsafe(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n);
  const releaseOf = async (tag: string) =>
    (await t.db.sql`SELECT * FROM releases WHERE release_tag = ${tag} ORDER BY attempt DESC LIMIT 1`)[0] as
      | { id: string; status: string; attempt: number }
      | undefined;

  async function approveAll(id: number) {
    let last: Awaited<ReturnType<typeof cli>> | undefined;
    for (const [role, user] of [
      ["qa", "quinn"],
      ["devops", "dora"],
      ["lead", "lee"],
    ] as const) {
      last = await cli("approve", String(id), "--role", role, "--as", user, "--json");
      expect(last.code, last.stderr).toBe(0);
    }
    return last!.json<{ completed: boolean; deploy_request: { id: number; environment: string } | null }>();
  }

  let v1: number;

  it("releases v1 to stage (first release: nothing to rehearse) and waits for approvals", async () => {
    const r = await cli("release", "mini", "v1", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ release: { status: "manual_testing", attempt: 1 } });
    v1 = Number((await releaseOf("v1"))!.id);
    expect(await svc.liveVersions("stage")).toEqual(["v1"]);
  });

  it("refuses every way around the approvals, in every environment that needs them, changing nothing", async () => {
    const before = {
      release: await releaseOf("v1"),
      audit: await count("audit_events"),
      runs: await count("runs"),
    };
    for (const status of ["manual_test_passed", "manual_test_failed"]) {
      const r = await cli("release", "update", String(v1), "--status", status, "--as", "ci", "--json");
      expect(r.code).toBe(3);
      expect(r.json()).toMatchObject({ error: { code: "move_not_allowed" } });
      expect(r.stderr).toMatch(/made only by the approvals/);
    }
    for (const status of ["deploying", "deployed"]) {
      const r = await cli("release", "update", String(v1), "--status", status, "--as", "ci");
      expect(r.code).toBe(3);
    }
    // production (named so) and live (any other name): both need an approved release.
    for (const environment of ["production", "live"]) {
      const r = await cli("deploy", "mini", "v1", "--env", environment, "--json");
      expect(r.code, r.stderr).toBe(3);
      expect(r.json()).toMatchObject({ error: { code: "not_approved" } });
      expect(r.stderr).toContain(`${environment} needs an approved release`);
      for (const h of svc.environments[environment]!.hosts) expect(existsSync(h.path)).toBe(false);
    }
    // A tag with no release at all is refused the same way.
    const none = await cli("deploy", "mini", "v2", "--env", "live");
    expect(none.code).toBe(3);
    expect(none.stderr).toContain("mini v2 has no release; live needs an approved release");
    expect(await releaseOf("v1")).toEqual(before.release);
    expect(await count("audit_events")).toBe(before.audit);
    expect(await count("runs")).toBe(before.runs);
  });

  it("the approval that completes the policy requests exactly one production deploy; relctl deploy takes it over", async () => {
    const last = await approveAll(v1);
    expect(last.completed).toBe(true);
    expect(last.deploy_request).toMatchObject({ environment: "production" });
    const [request] = await t.db.sql`SELECT * FROM deploy_requests WHERE release_id = ${v1}`;
    expect(request).toMatchObject({ kind: "deploy", state: "pending", environment: "production" });
    expect(await count("deploy_requests")).toBe(1);

    const planned = await cli("deploy", "mini", "v1", "--env", "production", "--dry-run", "--json");
    expect(planned.code, planned.stderr).toBe(0);
    const run = await cli("deploy", "mini", "v1", "--env", "production", "--json");
    expect(run.code, run.stderr).toBe(0);
    expect(run.json()).toMatchObject({ status: "succeeded", release: { status: "deployed" } });
    expect(await svc.liveVersions("production")).toEqual(["v1", "v1"]);

    // --dry-run printed exactly the steps the run recorded, each host's in order (hosts prepare
    // at once, so their steps interleave in the record).
    const steps = await t.db.sql`
      SELECT host, step, argv FROM step_runs WHERE run_id = ${run.json<{ run_id: number }>().run_id} ORDER BY id`;
    const plan = planned.json<{ deploy: { host: string; step: string; argv: string[] }[] }>().deploy;
    const byHost = <T extends { host: string }>(xs: readonly T[]) =>
      [...xs].sort((a, b) => a.host.localeCompare(b.host));
    expect(byHost(steps.map((s) => ({ host: s.host as string, step: s.step, argv: s.argv })))).toEqual(
      byHost(plan.map((p) => ({ host: p.host, step: p.step, argv: p.argv }))),
    );
    const [after] = await t.db.sql`SELECT state FROM deploy_requests WHERE release_id = ${v1}`;
    expect(after!.state).toBe("done");
  });

  it("refuses to release a deployed tag again before stage is touched", async () => {
    const runs = await count("runs");
    const r = await cli("release", "mini", "v1");
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("mini v1 is already deployed");
    expect(await count("runs")).toBe(runs);
  });

  it("refuses a tag the repository does not have, leaving no release behind", async () => {
    const releases = await count("releases");
    const r = await cli("release", "mini", "v9", "--json");
    expect(r.code).toBe(2);
    expect(r.json()).toMatchObject({ error: { code: "tag_not_found" } });
    expect(r.stderr).toContain("v9 is not a tag of mini's repository");
    expect(await count("releases")).toBe(releases);
    expect(await svc.liveVersions("stage")).toEqual(["v1"]);
  });

  it("deploys to an open environment without moving the release, and to a second gated one once approved", async () => {
    const open = await cli("deploy", "mini", "v1", "--env", "preview", "--json");
    expect(open.code, open.stderr).toBe(0);
    expect(open.json<{ message: string }>().message).toContain("the release's status is unchanged");
    const live = await cli("deploy", "mini", "v1", "--env", "live", "--json");
    expect(live.code, live.stderr).toBe(0);
    expect((await releaseOf("v1"))!.status).toBe("deployed");
    expect(await svc.liveVersions("live")).toEqual(["v1"]);
  });

  it("rolls v3 back by itself in production, lists it as failed, and releases the tag again as a new attempt", async () => {
    for (const tag of ["v2", "v3"]) {
      const r = await cli("release", "mini", tag);
      expect(r.code, r.stderr).toBe(0);
      const id = Number((await releaseOf(tag))!.id);
      await approveAll(id);
      const d = await cli("deploy", "mini", tag, "--env", "production", "--json");
      if (tag === "v2") expect(d.code, d.stderr).toBe(0);
      else {
        expect(d.code).toBe(4);
        expect(d.json()).toMatchObject({ error: { code: "run_rolled_back" } });
      }
    }
    expect((await releaseOf("v3"))!.status).toBe("rollback_done");
    expect(await svc.liveVersions("production")).toEqual(["v2", "v2"]);
    expect(svc.schemaOf("production")).toBe(2);
    const failed = await cli("releases", "--state", "failed", "--json");
    expect(failed.json<{ releases: { release_tag: string }[] }>().releases.map((r) => r.release_tag)).toEqual(
      ["v3"],
    );
    const successful = await cli("releases", "--state", "successful", "--json");
    expect(
      successful.json<{ releases: { release_tag: string }[] }>().releases.map((r) => r.release_tag),
    ).not.toContain("v3");
  });

  it("holds production deploys after the rollback until someone acknowledges it", async () => {
    const held = await cli("deploy", "mini", "v2", "--env", "production", "--json");
    expect(held.code).toBe(3);
    expect(held.json()).toMatchObject({ error: { code: "deploys_held" } });
    expect(held.stderr).toContain("relctl ack mini --env production");
    const ack = await cli("ack", "mini", "--env", "production", "--as", "lee");
    expect(ack.code, ack.stderr).toBe(0);
    const [audit] = await t.db.sql`SELECT actor, after FROM audit_events WHERE action = 'hold.acknowledge'`;
    expect(audit).toMatchObject({ actor: "lee", after: { environment: "production" } });
    expect((await cli("ack", "mini", "--env", "production")).code).toBe(3);
  });

  it("prunes stage but never the rehearsal target: v4 rehearses against v2 past the rolled-back v3", async () => {
    const r = await cli("release", "mini", "v4", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ previous_tag: "v2", release: { status: "manual_testing" } });
    const kept = readdirSync(join(svc.environments.stage!.hosts[0]!.path, "releases")).sort();
    expect(kept).toEqual(["v2", "v4"]);
  });

  it("releases a rolled-back tag again as attempt 2, both attempts in the audit", async () => {
    const first = Number((await releaseOf("v3"))!.id);
    const r = await cli("release", "mini", "v3", "--json");
    expect(r.code, r.stderr).toBe(0);
    const again = await releaseOf("v3");
    expect(again).toMatchObject({ attempt: 2, status: "manual_testing" });
    expect(Number(again!.id)).not.toBe(first);
    const [created] = await t.db.sql`
      SELECT after FROM audit_events WHERE release_id = ${again!.id} AND action = 'release.create'`;
    expect(created!.after).toMatchObject({
      attempt: 2,
      previous_attempt: { release_id: first, status: "rollback_done" },
    });
    expect(
      (await t.db.sql`SELECT count(*)::int AS n FROM audit_events WHERE release_id = ${first}`)[0]!.n,
    ).toBeGreaterThan(5);
  });

  it("does not take an old process still answering for the new release (a start that left v5 dead)", async () => {
    const r = await cli("release", "mini", "v5", "--json");
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/failed its health check .*must name v5/);
    expect((await releaseOf("v5"))!.status).toBe("stage_building_failed");
    expect(await svc.liveVersions("stage")).toEqual(["v3"]);
  });

  it("reports production by the gate: runs in live count, runs in the open preview and on stage do not", async () => {
    const r = await cli("report", "--json");
    expect(r.code, r.stderr).toBe(0);
    // Succeeded in gated environments: v1 and v2 in production, v1 in live; v3 was rolled back.
    expect(r.json()).toMatchObject({ deploys: { count: 3 }, recoveries: { count: 1 } });
  });

  it("refuses a deploy inside a freeze window; only a lead's override, audited, deploys", async () => {
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 3600_000).toISOString();
    svc.writeConfig({
      extra: { live: `    freeze: [{ from: "${from}", to: "${to}", reason: "end-of-year freeze" }]` },
    });
    try {
      const frozen = await cli("deploy", "mini", "v2", "--env", "live", "--json");
      expect(frozen.code).toBe(3);
      expect(frozen.json()).toMatchObject({ error: { code: "frozen" } });
      expect(frozen.stderr).toContain("live is frozen until");
      const notLead = await cli(
        "deploy",
        "mini",
        "v2",
        "--env",
        "live",
        "--override-freeze",
        "hotfix",
        "--as",
        "quinn",
      );
      expect(notLead.code).toBe(3);
      expect(notLead.stderr).toContain("only a member with the role lead or admin may override it");
      expect((await cli("members", "add", "1003", "--name", "lee", "--role", "lead")).code).toBe(0);
      const lead = await cli(
        "deploy",
        "mini",
        "v2",
        "--env",
        "live",
        "--override-freeze",
        "hotfix for #42",
        "--as",
        "lee",
      );
      expect(lead.code, lead.stderr).toBe(0);
      expect(await svc.liveVersions("live")).toEqual(["v2"]);
      const [audit] = await t.db.sql`SELECT actor, after FROM audit_events WHERE action = 'freeze.override'`;
      expect(audit).toMatchObject({ actor: "lee", after: { environment: "live", reason: "hotfix for #42" } });
    } finally {
      svc.writeConfig();
    }
  });
});
