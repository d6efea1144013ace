import { describe, expect, it } from "vitest";
import {
  compensationItems,
  forwardItems,
  type PlanItem,
  parseConfig,
  planDeploy,
  type ServiceConfig,
} from "../../src/index.js";
import { hostContext } from "../../src/runbook/plan.js";
import { strategyFor } from "../../src/runbook/steps.js";

const SECRET = "postgres://shop:s3cret@db/shop";

const yaml = (commands = "") => `
service: shop
repository: git@github.com:acme/shop.git
environments:
  production:
    strategy: docker
    path: /srv/shop
    keep: 3
    hosts:
      - { name: web-1, address: 10.0.0.11, host_key: "SHA256:aaa", user: deploy, env: { PORT: "8080" } }
      - { name: web-2, address: 10.0.0.12, host_key: "SHA256:bbb", user: deploy, env: { PORT: "8080" } }
    env: { DATABASE_URL: "\${SHOP_DB}" }
    commands:
      migrate: bin/migrate up
      migrate_down: bin/migrate down {version}
      schema_version: bin/migrate version
${commands}
    health: { url: "http://127.0.0.1:8080/health", attempts: 5, interval: 20s }
`;

const config = (commands = ""): ServiceConfig => parseConfig(yaml(commands), { env: { SHOP_DB: SECRET } });

const planOf = (cfg: ServiceConfig, prune: readonly string[] = []) => {
  const plan = planDeploy({
    config: cfg,
    environment: "production",
    tag: "v2.4.0+build/1",
    previous: { tag: "v2.3.1", schemaVersion: "41" },
    moves: true,
    prune,
  });
  return { deploy: forwardItems(plan), rollback: compensationItems(plan) };
};

const find = (items: readonly PlanItem[], phase: string, host: string, id: string) =>
  items.find((p) => p.phase === phase && p.host === host && p.step.id === id)!.step;

/** The docker run arguments of a step run in a container: what follows the container's name. */
const dockerRunOf = (argv: readonly string[]) => {
  expect(argv.slice(0, 2)).toEqual(["sh", "-c"]);
  expect(argv[2]).toContain('docker run --rm --name "$name" "$@" &');
  return argv.slice(4);
};

describe("docker strategy (command plan)", () => {
  const plan = planOf(config(), ["v2.1.0", "v2.0.0"]);

  it("checks out the tag as the releases strategy does, and builds the image <service>:<tag>", () => {
    expect(find(plan.deploy, "prepare", "web-1", "checkout").argv.slice(-3)).toEqual([
      "/srv/shop/repo.git",
      "/srv/shop/releases/v2.4.0+build/1",
      "v2.4.0+build/1",
    ]);
    expect(find(plan.deploy, "prepare", "web-2", "build").argv).toEqual([
      "docker",
      "build",
      "--tag",
      "shop:v2.4.0-build-1",
      "--label",
      "relctl.service=shop",
      "--label",
      "relctl.tag=v2.4.0+build/1",
      "/srv/shop/releases/v2.4.0+build/1",
    ]);
    // A configured build replaces docker build.
    const custom = planOf(config("      build: make image"));
    expect(find(custom.deploy, "prepare", "web-1", "build").argv).toEqual(["sh", "-c", "make image"]);
  });

  it("migrates once, in the tag's image, on the host's network; the schema read in the same container", () => {
    const migrations = plan.deploy.filter((p) => p.step.id === "migrate");
    expect(migrations.map((p) => p.host)).toEqual(["web-1"]);
    const step = migrations[0]!.step;
    const run = dockerRunOf(step.argv);
    expect(run[0]).toBe("shop-migrate");
    expect(run.slice(1, 3)).toEqual(["--network", "host"]);
    // Variables by name only: docker takes their values from the step's environment.
    expect(run).toEqual(expect.arrayContaining(["-e", "DATABASE_URL", "-e", "PORT", "-e", "RELCTL_TAG"]));
    expect(run).not.toContain("RELCTL_RELEASE_DIR");
    expect(step.argv.some((a) => a.includes(SECRET))).toBe(false);
    expect(step.env).toMatchObject({ DATABASE_URL: SECRET, RELCTL_TAG: "v2.4.0+build/1" });
    expect(step.sensitive).toContain(SECRET);
    const image = run.indexOf("shop:v2.4.0-build-1");
    expect(run.slice(image + 1)).toEqual([
      "sh",
      "-c",
      'sh -c "$1" && sh -c "$2"',
      "sh",
      "bin/migrate up",
      "bin/migrate version",
    ]);
    expect(migrations[0]!.reportsSchema).toBe(true);
    expect(step.pidFile).toBe("/srv/shop/.relctl/step.pid");
  });

  it("rolls back with the new image's down migrations, then starts the kept previous image: no build", () => {
    expect(plan.rollback.map((p) => `${p.phase}:${p.host}:${p.step.id}`)).toEqual([
      "migrate-down:web-1:migrate-down",
      "switch-back:web-1:switch",
      "switch-back:web-1:health",
      "switch-back:web-2:switch",
      "switch-back:web-2:health",
    ]);
    const down = plan.rollback[0]!.step;
    const run = dockerRunOf(down.argv);
    expect(run).toEqual(expect.arrayContaining(["-e", "RELCTL_VERSION", "shop:v2.4.0-build-1"]));
    expect(run.at(-3)).toBe('bin/migrate down "$RELCTL_VERSION"');
    expect(run.at(-1)).toBe("41");
    expect(down.env).toMatchObject({ RELCTL_VERSION: "41" });
    expect(find(plan.rollback, "switch-back", "web-2", "switch").env).toMatchObject({
      RELCTL_IMAGE: "shop:v2.3.1",
      RELCTL_TAG: "v2.3.1",
    });
    expect(plan.rollback.some((p) => p.step.argv.includes("build"))).toBe(false);
  });

  it("switches `current` and replaces the container <service> in one step, host by host", () => {
    expect(plan.deploy.filter((p) => p.phase === "switch").map((p) => `${p.host}:${p.step.id}`)).toEqual([
      "web-1:switch",
      "web-1:health",
      "web-2:switch",
      "web-2:health",
    ]);
    const step = find(plan.deploy, "switch", "web-1", "switch");
    expect(step.argv.slice(3)).toEqual(["sh", "/srv/shop/current", "releases/v2.4.0+build/1"]);
    const text = step.argv[2]!;
    expect(text).toMatch(/^ln -sfn "\$2" "\$1.next" && mv -Tf "\$1.next" "\$1" \|\| exit 1\n/);
    expect(text).toContain('name="$RELCTL_SERVICE"');
    expect(text).toContain('docker rm -f "$name"');
    expect(text).toContain(
      'docker run --detach --name "$name" --network host --restart unless-stopped --label "relctl.service=$RELCTL_SERVICE" --label "relctl.tag=$RELCTL_TAG" -e ',
    );
    for (const name of ["PORT", "DATABASE_URL", "RELCTL_TAG"]) expect(text).toContain(` -e ${name} `);
    expect(text).toContain('"$RELCTL_IMAGE" >/dev/null || exit 1');
    expect(text).not.toContain(SECRET);
    expect(step.env).toMatchObject({ RELCTL_IMAGE: "shop:v2.4.0-build-1", RELCTL_SERVICE: "shop" });
    expect(step.pidFile).toBe("/srv/shop/.relctl/step.pid");
  });

  it("runs a configured start command in the container instead of the image's CMD", () => {
    const step = find(
      planOf(config("      start: node server.mjs --tag {tag}")).deploy,
      "switch",
      "web-1",
      "switch",
    );
    expect(step.argv[2]).toContain('"$RELCTL_IMAGE" sh -c "$RELCTL_START" >/dev/null || exit 1');
    expect(step.env).toMatchObject({ RELCTL_START: 'node server.mjs --tag "$RELCTL_TAG"' });
    expect(step.title).toContain("node server.mjs --tag v2.4.0+build/1");
  });

  it("prunes the release folders and the images that are no longer kept", () => {
    const prune = plan.deploy.filter((p) => p.phase === "prune" && p.host === "web-1").map((p) => p.step);
    expect(prune.map((s) => s.id)).toEqual(["prune", "prune-images"]);
    expect(prune[0]!.argv.slice(-2)).toEqual(["/srv/shop/releases/v2.1.0", "/srv/shop/releases/v2.0.0"]);
    expect(prune[1]!.argv).toEqual(["docker", "image", "rm", "--force", "shop:v2.1.0", "shop:v2.0.0"]);
  });
});

describe("docker strategy: slots for blue/green", () => {
  const cfg = config();
  const env = cfg.environments.production!;
  const ctx = hostContext(cfg, env, env.hosts[0]!);
  const strategy = strategyFor("docker");

  it("starts the container <service>-$RELCTL_SLOT on $PORT, as sh -c text reading its values from its environment", () => {
    const step = strategy.slotStart!(ctx, "v2.3.1");
    expect(step.argv.length).toBe(3);
    const text = step.argv[2]!;
    expect(text).toContain('name="$RELCTL_SERVICE-$RELCTL_SLOT"');
    for (const name of ["PORT", "RELCTL_SLOT", "DATABASE_URL", "RELCTL_TAG"])
      expect(text).toContain(` -e ${name} `);
    expect(text).not.toContain("-e PIDFILE");
    expect(text).toContain('docker inspect --format "{{.State.Pid}}" "$name" >"$PIDFILE"');
    expect(text).not.toContain(SECRET);
    expect(step.env).toMatchObject({
      RELCTL_IMAGE: "shop:v2.3.1",
      RELCTL_SERVICE: "shop",
      RELCTL_TAG: "v2.3.1",
    });
    expect(step.cwd).toBe("/srv/shop/releases/v2.3.1");
    expect(step.title).toBe("docker run shop-$RELCTL_SLOT shop:v2.3.1");
  });

  it("stops the slot's container, and needs no release files to do it", () => {
    const step = strategy.slotStop!(ctx, "v2.3.1")!;
    expect(step.argv.length).toBe(3);
    expect(step.argv[2]).toContain('name="$RELCTL_SERVICE-$RELCTL_SLOT"');
    expect(step.argv[2]).toContain('docker stop --time 10 "$name"');
    expect(step.cwd).toBeUndefined();
    expect(step.env).toMatchObject({ RELCTL_SERVICE: "shop" });
  });

  it("checks for the rehearsal target's folder and its image", () => {
    expect(strategy.releasePresent(ctx, "v2.3.1").argv.slice(-2)).toEqual([
      "/srv/shop/releases/v2.3.1",
      "shop:v2.3.1",
    ]);
  });
});
