import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/index.js";
import { rolloutBatches } from "../../src/runbook/plan.js";

const base = (extra: string, strategy = "releases", start = "    commands: { start: sh start.sh }\n") =>
  [
    "service: shop",
    "environments:",
    "  production:",
    "    path: /srv/shop",
    `    strategy: ${strategy}`,
    "    hosts: [{ address: 10.0.0.1 }, { address: 10.0.0.2, proxy: { ports: [9001, 9002] } }]",
    start.trimEnd(),
    extra,
  ]
    .filter(Boolean)
    .join("\n");

const proxy =
  '    proxy: { haproxy: { admin: "127.0.0.1:9999", backend: shop }, ports: [8081, 8082], drain: 10s }';

describe("proxy and rollout in relctl.yml", () => {
  it("reads the proxy per host, with the host's overrides", () => {
    const env = parseConfig(base(proxy)).environments.production!;
    expect(env.hosts[0]!.proxy).toEqual({
      kind: "haproxy",
      admin: "127.0.0.1:9999",
      backend: "shop",
      ports: [8081, 8082],
      drainMs: 10_000,
    });
    expect(env.hosts[1]!.proxy!.ports).toEqual([9001, 9002]);
    expect(env.rollout).toEqual({ canary: null, batch: { hosts: 1 }, bakeMs: 0, analysis: null });
  });

  it("refuses what cannot work, naming the key", () => {
    expect(() => parseConfig(base(proxy, "releases", ""))).toThrow(
      "environments.production.commands.start: required with proxy:",
    );
    expect(() => parseConfig(base(proxy, "docker-compose"))).toThrow(
      "environments.production.proxy: the docker-compose strategy cannot run two instances side by side",
    );
    expect(() => parseConfig(base(""))).toThrow(
      "environments.production.hosts[1].proxy: needs the environment's proxy:",
    );
    expect(() => parseConfig(base(proxy.replace("[8081, 8082]", "[8081, 8081]")))).toThrow(
      /ports.*two different ports/,
    );
    expect(() => parseConfig(base(proxy.replace('"127.0.0.1:9999"', '"127.0.0.1:9999;id"')))).toThrow(
      /admin.*host:port/,
    );
    expect(() => parseConfig(base(`${proxy}\n    rollout: { canary: "150%" }`))).toThrow(/canary/);
    expect(() =>
      parseConfig(base(`${proxy}\n    rollout: { analysis: { prometheus: "http://p:9090", query: up } }`)),
    ).toThrow(/expected max, min or both/);
  });

  it("reads a rollout: the bake defaults to one analysis interval when only an analysis is set", () => {
    const env = parseConfig(
      base(
        `${proxy}\n    rollout: { canary: "10%", batch: "50%", analysis: { prometheus: "http://p:9090/", query: up, min: 1, interval: 15s } }`,
      ),
    ).environments.production!;
    expect(env.rollout).toEqual({
      canary: { percent: 10 },
      batch: { percent: 50 },
      bakeMs: 15_000,
      analysis: { prometheus: "http://p:9090", query: "up", min: 1, intervalMs: 15_000, failureLimit: 0 },
    });
  });

  it("cuts hosts into batches: the canary first, then batches, shares rounded up", () => {
    const hosts = ["a", "b", "c", "d", "e", "f", "g"];
    const r = (canary: unknown, batch: unknown) =>
      ({ canary, batch, bakeMs: 0, analysis: null }) as Parameters<typeof rolloutBatches>[1];
    expect(rolloutBatches(hosts, r(null, { hosts: 1 }))).toEqual(hosts.map((h) => [h]));
    expect(rolloutBatches(hosts, r({ hosts: 1 }, { percent: 50 }))).toEqual([
      ["a"],
      ["b", "c", "d", "e"],
      ["f", "g"],
    ]);
    expect(rolloutBatches(hosts, r({ percent: 10 }, { percent: 100 }))).toEqual([["a"], hosts.slice(1)]);
    expect(rolloutBatches(["a"], r({ hosts: 3 }, { hosts: 2 }))).toEqual([["a"]]);
  });
});
