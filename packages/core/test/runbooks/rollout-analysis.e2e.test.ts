import { readFileSync } from "node:fs";
import {
  createMiniService,
  createPostgresTestDatabase,
  freePort,
  type Haproxy,
  type MiniService,
  type PrometheusServer,
  proxyToolsOrSkip,
  startHaproxy,
  startPrometheus,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  createExecutor,
  parseConfig,
  ReleaseStore,
  type RunEvent,
  RunStore,
  runDeploy,
  type ServiceConfig,
} from "../../src/index.js";

const dev: Actor = { user: "dev", channel: "cli" };
const HOSTS = 3;

/**
 * Three hosts behind their own HAProxy, and a real Prometheus scraping every instance's /metrics.
 * The rollout: one canary host, a bake with an analysis (mini_error_ratio of the new version at
 * most 0.1), then the other two hosts at once. v2 is healthy on /health but reports an error
 * ratio of 0.9: the analysis aborts the bake, only the canary ever served v2, and every host ends
 * on v1.
 */
(proxyToolsOrSkip() ? describe : describe.skip)("a rollout: canary, bake, Prometheus analysis", () => {
  let t: TestDatabase;
  let svc: MiniService;
  let config: ServiceConfig;
  let prometheus: PrometheusServer;
  const proxies: Haproxy[] = [];
  const ports: [number, number][] = [];
  let deps: { releases: ReleaseStore; runs: RunStore; executor: ReturnType<typeof createExecutor> };

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_rollout_analysis");
    for (let i = 0; i < HOSTS; i++) ports.push([await freePort(), await freePort()]);
    prometheus = await startPrometheus({ targets: ports.flat().map((p) => `127.0.0.1:${p}`) });
    svc = await createMiniService({
      service: "shop",
      tags: [
        { tag: "v1", schema: 1 },
        { tag: "v2", schema: 2, badMetrics: true },
        { tag: "v3", schema: 2 },
      ],
      environments: { production: { hosts: HOSTS, extra: "    gate: { approvals: false }" } },
      hostExtra: { production: (_h, i) => `proxy: { admin: "ADMIN${i}", ports: [${ports[i]!.join(", ")}] }` },
    });
    for (const [i, h] of svc.environments.production!.hosts.entries())
      proxies.push(await startHaproxy({ frontPort: h.port, ports: ports[i]!, backend: "shop" }));
    let text = readFileSync(svc.configFile, "utf8");
    for (const [i, p] of proxies.entries()) text = text.replace(`ADMIN${i}`, p.admin);
    text = text.replace(
      "    gate: { approvals: false }",
      [
        "    gate: { approvals: false }",
        `    proxy: { haproxy: { admin: "${proxies[0]!.admin}", backend: shop }, ports: [${ports[0]!.join(", ")}], drain: 2s }`,
        "    rollout:",
        "      canary: 1",
        "      bake: 6s",
        '      batch: "100%"',
        "      analysis:",
        `        prometheus: ${prometheus.url}`,
        '        query: max(mini_error_ratio{version="{tag}"})',
        "        max: 0.1",
        "        interval: 1s",
      ].join("\n"),
    );
    config = parseConfig(text, { file: svc.configFile });
    deps = { releases: new ReleaseStore(t.db.sql), runs: new RunStore(t.db.sql), executor: createExecutor() };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    for (const p of proxies) await p.stop();
    await prometheus?.stop();
    await t?.drop();
  });

  it("a healthy release bakes on the canary, passes its analysis, then the other hosts switch at once", async () => {
    const notes: string[] = [];
    const reporter = (e: RunEvent) => {
      if (e.type === "note") notes.push(e.message);
    };
    const first = await runDeploy(
      { ...deps, reporter },
      { config, environment: "production", tag: "v1", actor: dev },
    );
    expect(first.status, first.message).toBe("succeeded");
    expect(await svc.liveVersions("production")).toEqual(["v1", "v1", "v1"]);
    const steps = await deps.runs.listSteps(first.run.id);
    const at = (host: string, step: string) =>
      steps.find((s) => s.host === host && s.step === step)!.startedAt.getTime();
    const bake = steps.find((s) => s.step === "bake")!;
    expect(bake.ok).toBe(true);
    // The other two switched only after the canary's bake ended, and together.
    const bakeEnd = bake.startedAt.getTime() + bake.durationMs;
    expect(at("production-2", "slot-start")).toBeGreaterThanOrEqual(bakeEnd);
    expect(at("production-3", "slot-start")).toBeGreaterThanOrEqual(bakeEnd);
    const analyses = steps.filter((s) => s.step === "analysis");
    expect(analyses.length).toBeGreaterThanOrEqual(3);
    expect(analyses.some((a) => a.ok && /^0 ≤ 0\.1/.test(a.outputTail))).toBe(true);
    expect(notes.some((n) => /baked 6s on production-1/.test(n))).toBe(true);
  }, 120_000);

  it("a release healthy on /health but failing its analysis is aborted during the bake; only the canary served it", async () => {
    const served = proxies.map(() => new Set<string>());
    let running = true;
    const load = Promise.all(
      proxies.map(async (p, i) => {
        while (running) {
          try {
            const res = await fetch(`http://127.0.0.1:${p.frontPort}/`);
            served[i]!.add(((await res.json()) as { version: string }).version);
          } catch {
            served[i]!.add("failed");
          }
          await new Promise((r) => setTimeout(r, 20));
        }
      }),
    );
    const bad = await runDeploy(deps, { config, environment: "production", tag: "v2", actor: dev });
    running = false;
    await load;
    expect(bad.status, bad.message).toBe("rolled_back");
    expect(bad.message).toMatch(/analysis: 0\.9 above max 0\.1/);
    expect(await svc.liveVersions("production")).toEqual(["v1", "v1", "v1"]);
    expect(svc.schemaOf("production")).toBe(1);
    // Only the canary ever served v2; nothing failed anywhere.
    expect([...served[0]!].sort()).toEqual(["v1", "v2"]);
    expect([...served[1]!]).toEqual(["v1"]);
    expect([...served[2]!]).toEqual(["v1"]);
    const steps = await deps.runs.listSteps(bad.run.id);
    expect(steps.filter((s) => s.step === "slot-start" && s.host !== "production-1")).toEqual([]);
    const failed = steps.find((s) => s.step === "analysis" && !s.ok)!;
    expect(failed.outputTail).toMatch(/0\.9 above max 0\.1/);
    // The bake ended at the failed measurement, well before its 6 s.
    const bake = steps.find((s) => s.step === "bake")!;
    expect(bake.ok).toBe(false);
    expect(bake.durationMs).toBeLessThan(6000);
    // On every host one instance answers, v1's: the canary's v2 was stopped.
    const answering = await Promise.all(
      ports.flat().map(async (port) => {
        try {
          return ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { version: string })
            .version;
        } catch {
          return null;
        }
      }),
    );
    expect(answering.filter((v) => v !== null)).toEqual(["v1", "v1", "v1"]);
  }, 120_000);
});
