import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createMiniService,
  createPostgresTestDatabase,
  describeWithSshd,
  freePort,
  type Haproxy,
  type MiniService,
  proxyToolsOrSkip,
  type SshdHandle,
  startHaproxy,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Actor,
  checkHosts,
  createExecutor,
  parseConfig,
  ReleaseStore,
  RunStore,
  runDeploy,
  runRollback,
  type ServiceConfig,
} from "../../src/index.js";

const dev: Actor = { user: "dev", channel: "cli" };

/** Requests through every host's proxy, one after another per host, until stopped. */
function steadyLoad(ports: readonly number[]) {
  let running = true;
  const failures: string[] = [];
  const seen = ports.map(() => new Map<string, number>());
  let sent = 0;
  const loops = ports.map(async (port, i) => {
    while (running) {
      sent++;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5000) });
        const body = (await res.json()) as { version?: string };
        if (res.status !== 200) failures.push(`${port}: ${res.status}`);
        else seen[i]!.set(body.version ?? "?", (seen[i]!.get(body.version ?? "?") ?? 0) + 1);
      } catch (err) {
        failures.push(`${port}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  return {
    seen,
    failures,
    get sent() {
      return sent;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * Two hosts reached over SSH, each with its own HAProxy in front of the service's blue and green
 * ports: deploys, an automatic rollback and a manual one switch the proxies while requests keep
 * coming, and none of them fails.
 */
/** Skipped (with a warning) only where haproxy is missing and RELCTL_REQUIRE_PROXY is not 1. */
const suite = proxyToolsOrSkip() ? describeWithSshd : describe.skip;

suite("blue/green behind HAProxy", () => {
  let sshd: SshdHandle;
  let t: TestDatabase;
  let svc: MiniService;
  let config: ServiceConfig;
  let proxies: Haproxy[];
  let deps: { releases: ReleaseStore; runs: RunStore; executor: ReturnType<typeof createExecutor> };
  const ports: [number, number][] = [];

  beforeAll(async () => {
    sshd = await startSshd();
    t = await createPostgresTestDatabase("relctl_blue_green");
    for (let i = 0; i < 2; i++) ports.push([await freePort(), await freePort()]);
    proxies = [];
    svc = await createMiniService({
      service: "web",
      tags: [
        { tag: "v1", schema: 1 },
        { tag: "v2", schema: 2 },
        { tag: "v3", schema: 3, unhealthy: "production" },
      ],
      environments: { production: { hosts: 2, extra: "    gate: { approvals: false }" } },
      ssh: {
        port: sshd.port,
        user: sshd.user,
        privateKey: sshd.userKeyPath,
        hostKey: sshd.hostPublicKeyLine,
      },
      hostExtra: {
        production: (_h, i) => `proxy: { admin: "ADMIN${i}", ports: [${ports[i]![0]}, ${ports[i]![1]}] }`,
      },
    });
    // Each host's proxy listens on the port the mini service gives the host (its health URL's).
    for (const [i, h] of svc.environments.production!.hosts.entries())
      proxies.push(
        await startHaproxy({ frontPort: h.port, ports: ports[i]!, backend: "web", checks: i === 1 }),
      );
    let text = readFileSync(svc.configFile, "utf8");
    for (const [i, p] of proxies.entries()) text = text.replace(`ADMIN${i}`, p.admin);
    text = text.replace(
      "    gate: { approvals: false }",
      `    gate: { approvals: false }\n    proxy: { haproxy: { admin: "${proxies[0]!.admin}", backend: web, state_file: ${join(svc.dir, "haproxy-state")} }, ports: [${ports[0]![0]}, ${ports[0]![1]}], drain: 5s }`,
    );
    config = parseConfig(text, { file: svc.configFile });
    deps = { releases: new ReleaseStore(t.db.sql), runs: new RunStore(t.db.sql), executor: createExecutor() };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    for (const p of proxies ?? []) await p.stop();
    await t?.drop();
    await sshd?.stop();
  });

  const slotPid = (host: number, slot: "blue" | "green") => {
    const f = join(svc.environments.production!.hosts[host]!.path, ".relctl", "slots", `${slot}.pid`);
    return existsSync(f) ? readFileSync(f, "utf8").trim() : null;
  };
  const steps = async (runId: number) => (await deps.runs.listSteps(runId)).map((s) => `${s.host} ${s.step}`);

  it("first deploy starts blue behind the proxy; the next starts green beside it, switches, stops blue", async () => {
    const first = await runDeploy(deps, { config, environment: "production", tag: "v1", actor: dev });
    expect(first.status, first.message).toBe("succeeded");
    expect(await svc.liveVersions("production")).toEqual(["v1", "v1"]);
    expect((await proxies[0]!.status()).blue).toMatch(/^(UP|no check)/);
    expect((await proxies[0]!.status()).green).toBe("MAINT");

    const load = steadyLoad(proxies.map((p) => p.frontPort));
    await new Promise((r) => setTimeout(r, 300));
    const bluePid = slotPid(0, "blue");
    const second = await runDeploy(deps, { config, environment: "production", tag: "v2", actor: dev });
    await new Promise((r) => setTimeout(r, 300));
    await load.stop();
    expect(second.status, second.message).toBe("succeeded");
    expect(load.failures).toEqual([]);
    expect(load.sent).toBeGreaterThan(100);
    // Both versions answered during the deploy; v2 after it.
    for (const seen of load.seen) expect([...seen.keys()].sort()).toEqual(["v1", "v2"]);
    expect(await svc.liveVersions("production")).toEqual(["v2", "v2"]);
    expect(bluePid).not.toBeNull();
    // The old instance is stopped and out of the proxy; the new one is live on green.
    expect(slotPid(0, "blue")).toBeNull();
    expect(await proxies[1]!.status()).toEqual({ blue: "MAINT", green: "UP" });
    expect(svc.currentLink("production", 1)).toBe("v2");
    const recorded = await steps(second.run.id);
    expect(recorded.filter((s) => s.endsWith("slot-start"))).toHaveLength(2);
    expect(recorded.filter((s) => s.endsWith("proxy-switch"))).toHaveLength(2);
    expect(recorded.filter((s) => s.endsWith("retire"))).toHaveLength(2);
    // The state file the proxy reloads from says green is live.
    expect(readFileSync(join(svc.dir, "haproxy-state"), "utf8")).toMatch(/web .*green/);
  }, 120_000);

  it("relctl doctor checks each host's proxy: the runtime API answers, the backend has blue and green", async () => {
    const checks = await checkHosts(deps, { config, environment: "production" });
    const proxy = checks.filter((c) => c.check.endsWith(" proxy"));
    expect(proxy.map((c) => [c.check, c.ok])).toEqual([
      ["production/production-1 proxy", true],
      ["production/production-2 proxy", true],
    ]);
    expect(proxy[0]!.detail).toBe("blue MAINT, green no check; live: green");
    const wrong = parseConfig(
      readFileSync(svc.configFile, "utf8")
        .replace(`proxy: { admin: "ADMIN0"`, `proxy: { admin: "127.0.0.1:${await freePort()}"`)
        .replace("ADMIN1", proxies[1]!.admin)
        .replace(
          "    gate: { approvals: false }",
          `    gate: { approvals: false }\n    proxy: { haproxy: { admin: "${proxies[0]!.admin}", backend: web }, ports: [${ports[0]![0]}, ${ports[0]![1]}] }`,
        ),
      { file: svc.configFile },
    );
    const down = await checkHosts(deps, { config: wrong, environment: "production" });
    const first = down.find((c) => c.check === "production/production-1 proxy")!;
    expect(first.ok).toBe(false);
    expect(first.detail).toMatch(/did not answer/);
  }, 60_000);

  it("an unhealthy release never takes traffic: the kept instance serves on, not restarted", async () => {
    const greenPids = [slotPid(0, "green"), slotPid(1, "green")];
    const load = steadyLoad(proxies.map((p) => p.frontPort));
    const bad = await runDeploy(deps, { config, environment: "production", tag: "v3", actor: dev });
    await load.stop();
    expect(bad.status, bad.message).toBe("rolled_back");
    expect(bad.message).toMatch(/health check/);
    expect(load.failures).toEqual([]);
    for (const seen of load.seen) expect([...seen.keys()]).toEqual(["v2"]);
    // v2's processes are the same ones: switching back restarted nothing.
    expect([slotPid(0, "green"), slotPid(1, "green")]).toEqual(greenPids);
    // The broken instance was stopped.
    expect(slotPid(0, "blue")).toBeNull();
    const recorded = await steps(bad.run.id);
    expect(recorded).toContain("production-1 retire");
    expect(svc.schemaOf("production")).toBe(2);
  }, 120_000);

  it("a manual rollback starts the earlier release beside the live one, then switches", async () => {
    const load = steadyLoad(proxies.map((p) => p.frontPort));
    const back = await runRollback(deps, {
      config,
      environment: "production",
      toTag: "v1",
      actor: dev,
    });
    await new Promise((r) => setTimeout(r, 200));
    await load.stop();
    expect(back.status, back.message).toBe("succeeded");
    expect(load.failures).toEqual([]);
    expect(await svc.liveVersions("production")).toEqual(["v1", "v1"]);
    expect(svc.schemaOf("production")).toBe(1);
    expect(await proxies[0]!.status()).toEqual({ blue: "no check", green: "MAINT" });
  }, 120_000);
});
