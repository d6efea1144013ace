import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import {
  createMiniService,
  createPostgresTestDatabase,
  type MiniService,
  processesUnder,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  RunStore,
  runDeploy,
  runRollback,
  type ServiceConfig,
} from "../../src/index.js";
import { compensationItems, planDeploy } from "../../src/runbook/plan.js";

const dev: Actor = { user: "dev", channel: "cli" };
/** A unique sleep: the builds still running can be found by their command line. */
const LONG = `29.${String(process.pid).padStart(6, "0").slice(-6)}`;

/** Three hosts on this machine whose build sleeps; a v3 build fails on the second host. */
describe("hosts at once: preparation and a rollback run on every host at the same time", () => {
  let t: TestDatabase;
  let svc: MiniService;
  let config: ServiceConfig;
  let deps: { releases: ReleaseStore; runs: RunStore; executor: ReturnType<typeof createExecutor> };

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_hosts_at_once");
    svc = await createMiniService({
      service: "fleet",
      tags: [
        { tag: "v1", schema: 1 },
        { tag: "v2", schema: 2 },
        { tag: "v3", schema: 3 },
      ],
      environments: { fleet: { hosts: 3, extra: "    gate: { approvals: false }" } },
    });
    const broken = svc.environments.fleet!.hosts[1]!.port;
    const build = `sleep 0.8; if [ "$RELCTL_TAG" = v3 ]; then if [ "$PORT" = ${broken} ]; then echo broken >&2; exit 7; fi; sleep ${LONG}; fi`;
    config = parseConfig(
      readFileSync(svc.configFile, "utf8").replace(
        "      start: sh start.sh\n",
        `      start: sh start.sh\n      build: '${build}'\n`,
      ),
      { file: svc.configFile },
    );
    deps = { releases: new ReleaseStore(t.db.sql), runs: new RunStore(t.db.sql), executor: createExecutor() };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await t?.drop();
  });

  /** The recorded steps of a run with this id, as [host, started, ended] in ms. */
  const spans = async (runId: number, step: string) =>
    (await deps.runs.listSteps(runId))
      .filter((s) => s.step === step)
      .map((s) => [s.host, s.startedAt.getTime(), s.startedAt.getTime() + s.durationMs] as const);
  const overlapping = (xs: readonly (readonly [string, number, number])[]) =>
    Math.max(...xs.map(([, start]) => start)) < Math.min(...xs.map(([, , end]) => end));

  it("builds on the three hosts at the same time", async () => {
    const first = await runDeploy(deps, { config, environment: "fleet", tag: "v1", actor: dev });
    expect(first.status, first.message).toBe("succeeded");
    const builds = await spans(first.run.id, "build");
    expect(builds.map(([host]) => host).sort()).toEqual(["fleet-1", "fleet-2", "fleet-3"]);
    expect(overlapping(builds)).toBe(true);
    // The switch stays host by host: each starts after the one before was healthy.
    const switches = await spans(first.run.id, "switch");
    expect(switches.map(([host]) => host)).toEqual(["fleet-1", "fleet-2", "fleet-3"]);
    for (let i = 1; i < switches.length; i++)
      expect(switches[i]![1]).toBeGreaterThanOrEqual(switches[i - 1]![2]);
    expect(await svc.liveVersions("fleet")).toEqual(["v1", "v1", "v1"]);
  });

  it("a build failing on one host ends the builds of the others, leaves nothing running and nothing live changed", async () => {
    const started = Date.now();
    const outcome = await runDeploy(deps, { config, environment: "fleet", tag: "v3", actor: dev });
    expect(outcome.status).toBe("failed");
    expect(outcome.message).toMatch(/fleet-2: build .* exited with 7 — broken \(nothing live was changed\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
    const builds = await deps.runs.listSteps(outcome.run.id);
    const ended = builds.filter((s) => s.step === "build" && s.host !== "fleet-2");
    expect(ended.map((s) => s.ok)).toEqual([false, false]);
    const leftRunning = processesUnder(svc.dir).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(LONG);
      } catch {
        return false;
      }
    });
    expect(leftRunning).toEqual([]);
    expect(await svc.liveVersions("fleet")).toEqual(["v1", "v1", "v1"]);
    expect(svc.schemaOf("fleet")).toBe(1);
  });

  it("a rollback of the three hosts switches them at once and restores all of them", async () => {
    const up = await runDeploy(deps, { config, environment: "fleet", tag: "v2", actor: dev });
    expect(up.status, up.message).toBe("succeeded");
    expect(svc.schemaOf("fleet")).toBe(2);
    const back = await runRollback(deps, { config, environment: "fleet", toTag: "v1", actor: dev });
    expect(back.status, back.message).toBe("succeeded");
    expect(await svc.liveVersions("fleet")).toEqual(["v1", "v1", "v1"]);
    expect([0, 1, 2].map((i) => svc.currentLink("fleet", i))).toEqual(["v1", "v1", "v1"]);
    expect(svc.schemaOf("fleet")).toBe(1);
    const steps = await deps.runs.listSteps(back.run.id);
    // Migrated down once, on the first host; then every host switched without waiting for another.
    expect(steps.filter((s) => s.step === "migrate-down").map((s) => s.host)).toEqual(["fleet-1"]);
    const switches = await spans(back.run.id, "switch");
    expect(switches.map(([host]) => host).sort()).toEqual(["fleet-1", "fleet-2", "fleet-3"]);
    const health = await spans(back.run.id, "health");
    const firstHealthy = Math.min(...health.map(([, , end]) => end));
    expect(Math.max(...switches.map(([, start]) => start))).toBeLessThan(firstHealthy);
  });
});

describe("a migration down that reports the version it leaves", () => {
  it("is not followed by a schema read; one that does not say it is", async () => {
    const svc = await createMiniService({
      service: "fold",
      tags: [{ tag: "v1" }],
      environments: { production: { hosts: 1 } },
    });
    try {
      const config = parseConfig(readFileSync(svc.configFile, "utf8"), { file: svc.configFile });
      const plan = planDeploy({
        config,
        environment: "production",
        tag: "v2",
        previous: { tag: "v1", schemaVersion: "1" },
        moves: false,
        prune: [],
      });
      const down = compensationItems(plan)[0]!;
      expect(down.step.id).toBe("migrate-down");
      const [sh, c, script, zero, , , version] = down.step.argv;
      const run = (migrate: string) => {
        const r = spawnSync(sh!, [c!, script!, zero!, migrate, "echo read", version!], { encoding: "utf8" });
        return [r.status, r.stdout];
      };
      expect(run("echo going down; echo 1")).toEqual([0, "going down\n1\n"]);
      expect(run("echo going down")).toEqual([0, "going down\nread\n"]);
      expect(run("echo 2")).toEqual([0, "2\nread\n"]);
      expect(run("echo half way; exit 5")).toEqual([5, "half way\n"]);
    } finally {
      await svc.stop();
    }
  });
});
