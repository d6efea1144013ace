import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPostgresTestDatabase,
  describeWithDocker,
  freePort,
  git,
  type Haproxy,
  haproxyInstalled,
  nodeBaseImage,
  removeDockerService,
  type SshdHandle,
  sshdAvailable,
  startHaproxy,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
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
import { hostContext } from "../../src/runbook/plan.js";
import { strategyFor } from "../../src/runbook/steps.js";

const dev: Actor = { user: "dev", channel: "cli" };
/** Container and image names are the machine's: one service name per test process. */
const SERVICE = `relctl-e2e-${process.pid}`;
const TOKEN = `token-${process.pid}-s3cret`;
/** Blue/green behind HAProxy too, where it is installed (or required: RELCTL_REQUIRE_PROXY=1). */
const WITH_PROXY = haproxyInstalled() || process.env.RELCTL_REQUIRE_PROXY === "1";

/** The service: /health names the VERSION of its image (500 with UNHEALTHY), on $PORT. */
const SERVER = `import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
const here = (f) => new URL("./" + f, import.meta.url);
const version = readFileSync(here("VERSION"), "utf8").trim();
const unhealthy = existsSync(here("UNHEALTHY"));
createServer((req, res) => {
  res.writeHead(unhealthy ? 500 : 200, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: unhealthy ? "failing" : "ok", version, slot: process.env.RELCTL_SLOT ?? null }));
}).listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

/** Migrations against the schema store on the host's network: up to SCHEMA, down to $2, or print it. */
const MIGRATE = `import { readFileSync } from "node:fs";
const image = readFileSync(new URL("./VERSION", import.meta.url), "utf8").trim();
const headers = { authorization: "Bearer " + process.env.SERVICE_TOKEN, "x-image": image, "x-tag": process.env.RELCTL_TAG };
const store = async (init) => {
  const res = await fetch(process.env.SCHEMA_URL, { ...init, headers });
  if (!res.ok) { console.error("schema store: " + res.status); process.exit(1); }
  return Number(await res.text());
};
const [cmd, arg] = process.argv.slice(2);
const cur = await store({});
if (cmd === "up") {
  const target = Number(readFileSync(new URL("./SCHEMA", import.meta.url), "utf8"));
  if (target > cur) await store({ method: "PUT", body: String(target) });
} else if (cmd === "down") {
  if (Number(arg) > cur) { console.error("cannot go down to " + arg + " from " + cur); process.exit(3); }
  await store({ method: "PUT", body: arg });
} else if (cmd === "version") console.log(String(cur));
else process.exit(64);
`;

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const imageTags = () =>
  docker("image", "ls", "--format", "{{.Tag}}", SERVICE).split("\n").filter(Boolean).sort();
const labelOf = (container: string) =>
  docker("inspect", "--format", '{{index .Config.Labels "relctl.tag"}}', container);

describeWithDocker("the docker strategy on a real Docker engine", () => {
  let t: TestDatabase;
  let sshd: SshdHandle | undefined;
  let store: Server;
  let dir: string;
  let config: ServiceConfig;
  let port: number;
  let proxy: Haproxy | undefined;
  let deps: { releases: ReleaseStore; runs: RunStore; executor: ReturnType<typeof createExecutor> };
  /** The schema each environment's migrations keep, and each call that changed production's. */
  const schemas = new Map<string, number>();
  let schema = 0;
  const changes: string[] = [];

  beforeAll(async () => {
    const [db, base, ssh] = await Promise.all([
      createPostgresTestDatabase("relctl_docker_e2e"),
      nodeBaseImage(),
      sshdAvailable() ? startSshd() : undefined,
    ]);
    t = db;
    sshd = ssh;
    store = createServer((req, res) => {
      if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end();
      let body = "";
      req.on("data", (c) => {
        body += String(c);
      });
      req.on("end", () => {
        const env = req.url ?? "";
        if (req.method === "PUT") {
          if (env === "/production")
            changes.push(
              `${schemas.get(env) ?? 0}→${body} by ${req.headers["x-image"]} (${req.headers["x-tag"]})`,
            );
          schemas.set(env, Number(body));
          schema = schemas.get("/production") ?? 0;
        }
        res.end(String(schemas.get(env) ?? 0));
      });
    });
    const storePort = await freePort();
    await new Promise<void>((r) => store.listen(storePort, "127.0.0.1", r));
    port = await freePort();
    const slotPorts = [await freePort(), await freePort()] as const;
    if (WITH_PROXY) proxy = await startHaproxy({ ports: slotPorts, backend: "web" });

    dir = mkdtempSync(join(tmpdir(), "relctl-docker-"));
    const work = join(dir, "work");
    mkdirSync(work);
    git(work, "init", "--quiet", "--initial-branch=main");
    writeFileSync(
      join(work, "Dockerfile"),
      `FROM ${base}\nWORKDIR /app\nCOPY . /app\nCMD ["node", "server.mjs"]\n`,
    );
    writeFileSync(join(work, ".dockerignore"), ".git\n");
    writeFileSync(join(work, "server.mjs"), SERVER);
    writeFileSync(join(work, "migrate.mjs"), MIGRATE);
    for (const [tag, version, unhealthy] of [
      ["v1", 1, false],
      ["v2", 2, false],
      ["v3", 3, true],
      ["v4", 4, false],
    ] as const) {
      writeFileSync(join(work, "VERSION"), `${tag}\n`);
      writeFileSync(join(work, "SCHEMA"), `${version}\n`);
      if (unhealthy) writeFileSync(join(work, "UNHEALTHY"), "*\n");
      else rmSync(join(work, "UNHEALTHY"), { force: true });
      git(work, "add", "--all");
      git(work, "commit", "--quiet", "-m", `release ${tag}`);
      git(work, "tag", tag);
    }
    const origin = join(dir, "origin.git");
    git(dir, "clone", "--quiet", "--bare", work, origin);
    const reach = sshd
      ? `address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user}, private_key: ${sshd.userKeyPath}, host_key: "${sshd.hostPublicKeyLine}"`
      : "address: local";
    const environment = (name: string, healthPort: number, extra: string[] = []) => [
      `  ${name}:`,
      "    strategy: docker",
      "    gate: { approvals: false }",
      `    path: ${join(dir, name)}`,
      "    keep: 2",
      `    hosts: [{ name: ${name}-1, ${reach} }]`,
      `    env: { PORT: "${port}", SCHEMA_URL: "http://127.0.0.1:${storePort}/${name}", SERVICE_TOKEN: "\${E2E_TOKEN}" }`,
      "    commands:",
      "      migrate: node migrate.mjs up",
      "      migrate_down: node migrate.mjs down {version}",
      "      schema_version: node migrate.mjs version",
      `    health: { url: "http://127.0.0.1:${healthPort}/health", attempts: 8, interval: 250ms, timeout: 1s, from: relctl }`,
      ...extra,
    ];
    const yaml = [
      `service: ${SERVICE}`,
      `repository: ${origin}`,
      "environments:",
      ...environment("production", port),
      ...(proxy
        ? environment("edge", proxy.frontPort, [
            `    proxy: { haproxy: { admin: "${proxy.admin}", backend: web }, ports: [${slotPorts[0]}, ${slotPorts[1]}], drain: 1s }`,
          ])
        : []),
      "",
    ].join("\n");
    config = parseConfig(yaml, { file: join(dir, "relctl.yml"), env: { E2E_TOKEN: TOKEN } });
    deps = { releases: new ReleaseStore(t.db.sql), runs: new RunStore(t.db.sql), executor: createExecutor() };
  }, 90_000);

  afterAll(async () => {
    try {
      removeDockerService(SERVICE);
    } finally {
      store?.close();
      await proxy?.stop();
      await sshd?.stop();
      await t?.drop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  });

  const live = async (p = port): Promise<string | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${p}/health`, { signal: AbortSignal.timeout(1000) });
      return ((await res.json()) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  };
  const stepsOf = (runId: number) => deps.runs.listSteps(runId);
  const deploy = (tag: string) => runDeploy(deps, { config, environment: "production", tag, actor: dev });

  it("deploys v1, then v2: the container <service> runs the image <service>:v2, migrated in its image", async () => {
    const first = await deploy("v1");
    expect(first.status, first.message).toBe("succeeded");
    const second = await deploy("v2");
    expect(second.status, second.message).toBe("succeeded");
    expect(await live()).toBe("v2");
    expect(labelOf(SERVICE)).toBe("v2");
    expect(docker("inspect", "--format", "{{.Config.Image}} {{.State.Status}}", SERVICE)).toBe(
      `${SERVICE}:v2 running`,
    );
    expect(imageTags()).toEqual(["v1", "v2"]);
    expect(execFileSync("readlink", [join(dir, "production", "current")], { encoding: "utf8" }).trim()).toBe(
      "releases/v2",
    );
    // Each migration ran in its tag's image, its values from the environment, never from argv.
    expect(changes).toEqual(["0→1 by v1 (v1)", "1→2 by v2 (v2)"]);
    const steps = await stepsOf(second.run.id);
    const build = steps.find((s) => s.step === "build")!;
    expect(build.argv.slice(0, 4)).toEqual(["docker", "build", "--tag", `${SERVICE}:v2`]);
    const migrate = steps.find((s) => s.step === "migrate")!;
    expect(migrate.argv).toEqual(expect.arrayContaining(["-e", "SERVICE_TOKEN", `${SERVICE}:v2`]));
    expect(steps.flatMap((s) => s.argv).some((a) => a.includes(TOKEN))).toBe(false);
    // One step switches `current` and replaces the container.
    expect(steps.filter((s) => s.step === "switch").map((s) => s.ok)).toEqual([true]);
  });

  it("rolls an unhealthy v3 back to v2 by itself: migrations down in v3's image, v2's image started again unbuilt", async () => {
    const outcome = await deploy("v3");
    expect(outcome.status, outcome.message).toBe("rolled_back");
    expect(await live()).toBe("v2");
    expect(labelOf(SERVICE)).toBe("v2");
    expect(schema).toBe(2);
    expect(changes.slice(-2)).toEqual(["2→3 by v3 (v3)", "3→2 by v3 (v3)"]);
    const steps = await stepsOf(outcome.run.id);
    const builds = steps.filter((s) => s.argv.includes("build"));
    expect(builds.map((s) => s.argv[3])).toEqual([`${SERVICE}:v3`]);
    expect(steps.filter((s) => s.step === "switch").map((s) => s.title)).toEqual([
      expect.stringContaining(`${SERVICE}:v3`),
      expect.stringContaining(`${SERVICE}:v2`),
    ]);
  });

  it("rolls back by hand to v1 without building anything", async () => {
    const outcome = await runRollback(deps, { config, environment: "production", toTag: "v1", actor: dev });
    expect(outcome.status, outcome.message).toBe("succeeded");
    expect(await live()).toBe("v1");
    expect(labelOf(SERVICE)).toBe("v1");
    expect(schema).toBe(1);
    expect(changes.at(-1)).toBe("2→1 by v2 (v2)");
    const steps = await stepsOf(outcome.run.id);
    expect(steps.map((s) => s.step)).not.toContain("build");
    expect(steps.some((s) => s.argv.includes("build"))).toBe(false);
  });

  it("prunes to `keep` images and releases after the next deploy", async () => {
    const outcome = await deploy("v4");
    expect(outcome.status, outcome.message).toBe("succeeded");
    expect(await live()).toBe("v4");
    // keep: 2 — the live v4 and v1, the one good release a rollback can go to (v2 and v3 were rolled back).
    expect(imageTags()).toEqual(["v1", "v4"]);
    expect(
      execFileSync("ls", [join(dir, "production", "releases")], { encoding: "utf8" })
        .split("\n")
        .filter(Boolean),
    ).toEqual(["v1", "v4"]);
  });

  it("starts a release on a slot beside the live container, and stops it (twice: the second finds none)", async () => {
    const host = config.environments.production!.hosts[0]!;
    const ctx = hostContext(config, config.environments.production!, host);
    const strategy = strategyFor("docker");
    const slotPort = await freePort();
    const pidFile = join(dir, "production", ".relctl", "slots", "blue.pid");
    mkdirSync(join(dir, "production", ".relctl", "slots"), { recursive: true });
    const slot = { PORT: String(slotPort), RELCTL_SLOT: "blue", PIDFILE: pidFile };
    const session = await deps.executor.open(host);
    try {
      const start = strategy.slotStart!(ctx, "v1");
      const started = await session.run({ ...start, env: { ...start.env, ...slot } });
      expect(started.exitCode, started.tail).toBe(0);
      expect(started.stdout.trim()).toBe(`${SERVICE}-blue running ${SERVICE}:v1`);
      // Running is not yet listening: blue/green's health check waits the same way.
      await expect.poll(() => live(slotPort), { timeout: 10_000, interval: 100 }).toBe("v1");
      expect(await live()).toBe("v4");
      expect(labelOf(`${SERVICE}-blue`)).toBe("v1");
      expect(Number(readFileSync(pidFile, "utf8"))).toBeGreaterThan(0);
      const stop = strategy.slotStop!(ctx, "v1")!;
      for (let i = 0; i < 2; i++) {
        const stopped = await session.run({ ...stop, env: { ...stop.env, ...slot } });
        expect(stopped.exitCode, stopped.tail).toBe(0);
      }
      expect(await live(slotPort)).toBe(null);
      expect(docker("ps", "--all", "--quiet", "--filter", `name=^/${SERVICE}-blue$`)).toBe("");
      expect(await live()).toBe("v4");
    } finally {
      await session.close();
    }
  });

  it.skipIf(!WITH_PROXY)(
    "behind HAProxy: each release starts in its slot's container beside the live one, which is removed once drained",
    async () => {
      const slots = () =>
        docker(
          "ps",
          "--all",
          "--filter",
          `name=^/${SERVICE}-`,
          "--format",
          '{{.Names}} {{.Label "relctl.tag"}}',
        )
          .split("\n")
          .filter(Boolean)
          .sort();
      const edge = (tag: string) => runDeploy(deps, { config, environment: "edge", tag, actor: dev });
      const first = await edge("v1");
      expect(first.status, first.message).toBe("succeeded");
      expect(await live(proxy!.frontPort)).toBe("v1");
      expect(slots()).toEqual([`${SERVICE}-blue v1`]);
      const second = await edge("v2");
      expect(second.status, second.message).toBe("succeeded");
      expect(await live(proxy!.frontPort)).toBe("v2");
      // The old slot's container is stopped and removed once drained.
      expect(slots()).toEqual([`${SERVICE}-green v2`]);
      expect(labelOf(`${SERVICE}-green`)).toBe("v2");
      expect((await proxy!.status()).green).toMatch(/^(UP|no check)/);
    },
  );
});
