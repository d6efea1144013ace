import { describe, expect, it } from "vitest";
import {
  bodyNamesVersion,
  compensationItems,
  forwardItems,
  type PlanItem,
  type PreviousVersion,
  parseConfig,
  parseCurrentLink,
  planDeploy,
  type ServiceConfig,
} from "../../src/index.js";

const yaml = (strategy: string, extra = "") => `
service: shop
repository: git@github.com:acme/shop.git
environments:
  production:
    strategy: ${strategy}
    path: /srv/shop
    keep: 3
    hosts:
      - { name: web-1, address: 10.0.0.11, host_key: "SHA256:aaa", user: deploy }
      - { name: web-2, address: 10.0.0.12, host_key: "SHA256:bbb", user: deploy }
    env: { DATABASE_URL: "\${SHOP_DB}" }
    commands:
      migrate: docker compose run --rm app bin/migrate up
      migrate_down: docker compose run --rm app bin/migrate down {version}
      schema_version: docker compose run --rm app bin/migrate version
${extra}
    health: { url: "http://127.0.0.1:8080/health", attempts: 5, interval: 20s }
`;

const config = (strategy: string, extra = ""): ServiceConfig =>
  parseConfig(yaml(strategy, extra), { env: { SHOP_DB: "postgres://shop:s3cret@db/shop" } });

/** A production deploy's plan as two lists: what runs, and the automatic rollback. */
const planOf = (cfg: ServiceConfig, tag: string, previous: PreviousVersion | null) => {
  const plan = planDeploy({ config: cfg, environment: "production", tag, previous, moves: true, prune: [] });
  return { deploy: forwardItems(plan), rollback: compensationItems(plan) };
};

const argvOf = (plan: readonly PlanItem[], phase: string, host: string, id: string) =>
  plan.find((p) => p.phase === phase && p.host === host && p.step.id === id)?.step.argv;

describe("docker-compose strategy (command plan)", () => {
  const plan = planOf(config("docker-compose"), "v2.4.0", {
    tag: "v2.3.1",
    schemaVersion: "41",
  });

  it("fetches and checks out the tag on every host", () => {
    expect(plan.deploy.filter((p) => p.step.id === "checkout").map((p) => p.host)).toEqual([
      "web-1",
      "web-2",
    ]);
    expect(argvOf(plan.deploy, "prepare", "web-1", "checkout")).toEqual([
      "sh",
      "-c",
      expect.stringContaining('worktree add --quiet --force --detach "$2" "refs/tags/$3"'),
      "sh",
      "/srv/shop/repo.git",
      "/srv/shop/releases/v2.4.0",
      "v2.4.0",
    ]);
  });

  it("builds an image tagged with the release", () => {
    expect(argvOf(plan.deploy, "prepare", "web-2", "build")).toEqual([
      "docker",
      "build",
      "--tag",
      "shop:v2.4.0",
      "--label",
      "relctl.service=shop",
      "--label",
      "relctl.tag=v2.4.0",
      "/srv/shop/releases/v2.4.0",
    ]);
  });

  it("migrates once, on the first host", () => {
    const migrations = plan.deploy.filter((p) => p.step.id === "migrate");
    expect(migrations.map((p) => p.host)).toEqual(["web-1"]);
    // The schema version is read in the same round trip: the last line of the step's output.
    expect(migrations[0]!.step.argv).toEqual([
      "sh",
      "-c",
      'sh -c "$1" && sh -c "$2"',
      "sh",
      "docker compose run --rm app bin/migrate up",
      "docker compose run --rm app bin/migrate version",
    ]);
    expect(migrations[0]!.step.sensitive).toContain("postgres://shop:s3cret@db/shop");
  });

  it("switches with compose up of the kept image (no build), host by host, each health-checked", () => {
    expect(plan.deploy.filter((p) => p.phase === "switch").map((p) => `${p.host}:${p.step.id}`)).toEqual([
      "web-1:switch",
      "web-1:start",
      "web-1:health",
      "web-2:switch",
      "web-2:start",
      "web-2:health",
    ]);
    const up = plan.deploy.find((p) => p.host === "web-1" && p.step.id === "start")!.step;
    expect(up.argv).toEqual([
      "docker",
      "compose",
      "--project-name",
      "shop",
      "up",
      "--detach",
      "--no-build",
      "--remove-orphans",
      "--wait",
    ]);
    expect(up.env).toMatchObject({ IMAGE_TAG: "v2.4.0" });
    expect(up.cwd).toBe("/srv/shop/releases/v2.4.0");
  });

  it("rolls back with the new code's down migrations first, then starts the kept previous image", () => {
    expect(plan.rollback.map((p) => `${p.phase}:${p.host}:${p.step.id}`)).toEqual([
      "migrate-down:web-1:migrate-down",
      "switch-back:web-1:switch",
      "switch-back:web-1:start",
      "switch-back:web-1:health",
      "switch-back:web-2:switch",
      "switch-back:web-2:start",
      "switch-back:web-2:health",
    ]);
    const down = plan.rollback[0]!.step;
    // The schema is read only when the migration's own last line of output is not the version.
    expect(down.argv).toEqual([
      "sh",
      "-c",
      expect.stringContaining('*"$nl$3") ;; *) exec sh -c "$2" ;; esac'),
      "sh",
      'docker compose run --rm app bin/migrate down "$RELCTL_VERSION"',
      "docker compose run --rm app bin/migrate version",
      "41",
    ]);
    expect(down.env).toMatchObject({ RELCTL_VERSION: "41" });
    expect(down.cwd).toBe("/srv/shop/releases/v2.4.0");
    expect(plan.rollback.find((p) => p.step.id === "start")!.step.env).toMatchObject({ IMAGE_TAG: "v2.3.1" });
    expect(plan.rollback.some((p) => p.step.id === "build")).toBe(false);
  });

  it("health-checks from the host with curl, never through a shell", () => {
    expect(argvOf(plan.deploy, "switch", "web-2", "health")).toEqual([
      "curl",
      "--fail",
      "--silent",
      "--show-error",
      "--max-time",
      "5",
      "--",
      "http://127.0.0.1:8080/health",
    ]);
  });

  it("says when there is nothing to roll back to", () => {
    expect(planOf(config("docker-compose"), "v1.0.0", null).rollback).toEqual([]);
  });
});

describe("releases strategy (command plan)", () => {
  it("switches the current link atomically and (re)starts, in one round trip", () => {
    const plan = planOf(config("releases", "      start: systemctl restart shop"), "v2.4.0", null);
    const steps = plan.deploy.filter((p) => p.phase === "switch" && p.host === "web-1" && !p.health);
    expect(steps).toHaveLength(1);
    const sw = steps[0]!.step;
    expect(sw.argv).toEqual([
      "sh",
      "-c",
      'ln -sfn "$2" "$1.next" && mv -Tf "$1.next" "$1" && exec sh -c "$3"',
      "sh",
      "/srv/shop/current",
      "releases/v2.4.0",
      "systemctl restart shop",
    ]);
    expect(sw.env).toMatchObject({
      RELCTL_TAG: "v2.4.0",
      RELCTL_ENVIRONMENT: "production",
      RELCTL_PATH: "/srv/shop",
    });
  });

  it("passes tags and versions as values, never as shell text", () => {
    const plan = planOf(config("releases"), "v2.4.0+build.7", {
      tag: "v2.3.1",
      schemaVersion: "41",
    });
    for (const p of [...plan.deploy, ...plan.rollback]) {
      const script = p.step.argv[0] === "sh" ? p.step.argv[2]! : "";
      expect(script).not.toContain("v2.4.0+build.7");
      expect(script).not.toContain("41");
    }
  });

  it("prepares every host at once, switches batch by batch (a host each by default), switches back every host at once", () => {
    const plan = planOf(config("releases"), "v2.4.0", { tag: "v2.3.1", schemaVersion: "41" });
    const how = (items: readonly PlanItem[]) => [
      ...new Set(items.map((p) => `${p.phase}:${p.together ?? "one by one"}`)),
    ];
    expect(how(plan.deploy)).toEqual([
      "check:end",
      "check:one by one", // the tag is in the repository: once
      "prepare:end",
      "migrate:one by one",
      "switch:finish",
    ]);
    // One batch per host: batches run one after another.
    expect(new Set(plan.deploy.filter((p) => p.phase === "switch").map((p) => p.batch)).size).toBe(2);
    expect(how(plan.rollback)).toEqual(["migrate-down:one by one", "switch-back:finish"]);
  });

  it("refuses a hostile tag before planning anything", () => {
    expect(() => planOf(config("releases"), "v1;$(id)", null)).toThrow(/not an allowed tag/);
  });
});

describe("small parsers", () => {
  it("reads the tag of a current link", () => {
    expect(parseCurrentLink("releases/v1.2.0\n")).toBe("v1.2.0");
    expect(parseCurrentLink("releases/release/2024-01")).toBe("release/2024-01");
    expect(parseCurrentLink("")).toBeUndefined();
    expect(parseCurrentLink("/elsewhere")).toBeUndefined();
  });

  it("checks that a health body names the release", () => {
    expect(bodyNamesVersion('{"version":"1.2.0"}', "v1.2.0")).toBe(true);
    expect(bodyNamesVersion('{"version":"v1.2.0"}', "v1.2.0")).toBe(true);
    expect(bodyNamesVersion('{"version":"1.2.01"}', "v1.2.0")).toBe(false);
    expect(bodyNamesVersion('{"version":"11.2.0"}', "v1.2.0")).toBe(false);
    expect(bodyNamesVersion('{"version":"1.1.0"}', "v1.2.0")).toBe(false);
  });
});
