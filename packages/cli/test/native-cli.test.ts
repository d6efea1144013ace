import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "@relctl/core";
import {
  createMiniService,
  createPostgresTestDatabase,
  describeWithSshd,
  type MiniService,
  type SshdHandle,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describe("relctl as a CLI of its ecosystem: help, suggestions, completion, one --env rule", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "relctl-native-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli(args, { XDG_CACHE_HOME: join(dir, "cache") }, dir);

  it("help, help <topic>, -h and <command> -h", async () => {
    const all = await cli("help");
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/COMMANDS[\s\S]*deploy[\s\S]*logs[\s\S]*runs/);
    const topic = await cli("help", "release");
    expect(topic.code).toBe(0);
    expect(topic.stdout).toMatch(/release create/);
    for (const args of [["-h"], ["deploy", "-h"]]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stdout).toMatch(/USAGE/);
    }
    expect((await cli("deploy", "-h")).stdout).toMatch(/-e, --env=<value>\s+\(required\)/);
  });

  it("an unknown command names the closest one, exit 127", async () => {
    const r = await cli("deplyo", "hello");
    expect(r.code).toBe(127);
    expect(r.stderr.trim()).toBe(
      "relctl: deplyo hello is not a relctl command; did you mean relctl deploy? (relctl help lists them)",
    );
    expect((await cli("lock", "relase")).stderr).toMatch(/did you mean relctl lock release\?/);
  });

  it("autocomplete prints the setup for bash and zsh", async () => {
    for (const shell of ["bash", "zsh"]) {
      const r = await cli("autocomplete", shell);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`relctl autocomplete script ${shell}`);
    }
  });

  it("--env is required on every command that changes an environment, -e and -y are its short forms", async () => {
    for (const args of [
      ["deploy", "hello", "v1"],
      ["rollback", "hello", "--to", "v1", "-y"],
      ["rehearse", "hello", "v1"],
      ["abort", "hello"],
      ["ack", "hello"],
      ["lock", "release", "hello"],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr, args.join(" ")).toMatch(/Missing required flag env/);
    }
    for (const name of ["versions", "doctor", "runs"]) {
      expect((await cli(name, "-h")).stdout, name).toMatch(
        /-e, --env=<value>\s+Environment of relctl.yml \(default: /,
      );
    }
  });
});

describe("runs, logs, counted lists, and read-only commands without secrets", () => {
  let t: TestDatabase;
  let svc: MiniService;
  let env: Record<string, string>;
  let releaseId: number;

  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_native");
    svc = await createMiniService({
      tags: [{ tag: "v1", schema: 1 }],
      environments: { stage: { hosts: 1 }, production: { hosts: 1 } },
    });
    env = { DATABASE_URL: t.url!, RELCTL_CONFIG: svc.configFile, RELCTL_USER: "dev" };
    const r = await runCli(["release", "mini", "v1", "--json"], env, svc.dir);
    expect(r.code, r.stderr).toBe(0);
    releaseId = r.json<{ release: { id: number } }>().release.id;
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await t?.drop();
  });
  const cli = (...args: string[]) => runCli(args, env, svc.dir);

  it("relctl runs <release-id|service> lists the runs; relctl logs <run-id> shows each recorded step", async () => {
    const byRelease = await cli("runs", String(releaseId), "--json");
    expect(byRelease.code, byRelease.stderr).toBe(0);
    const runs = byRelease.json<{ runs: { id: number; kind: string; status: string }[] }>().runs;
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.status === "succeeded")).toBe(true);
    const byService = await cli("runs", "mini", "-e", "stage");
    expect(byService.stdout).toMatch(new RegExp(`run ${runs[0]!.id} .*→ stage\\s+succeeded`));
    expect(byService.stdout).toMatch(/relctl logs <run-id> shows a run's steps/);

    const log = await cli("logs", String(runs.at(-1)!.id), "--json");
    expect(log.code, log.stderr).toBe(0);
    const steps = log.json<{ steps: Record<string, unknown>[] }>().steps;
    const recorded = await t.db
      .sql`SELECT host, argv, exit_code FROM step_runs WHERE run_id = ${runs.at(-1)!.id} ORDER BY id`;
    expect(steps.map((s) => ({ host: s.host, argv: s.argv, exit_code: s.exit_code }))).toEqual(
      recorded.map((s) => ({ host: s.host, argv: s.argv, exit_code: s.exit_code })),
    );
    expect(steps[0]).toMatchObject({
      ok: true,
      duration_ms: expect.any(Number),
      output_tail: expect.any(String),
    });
    const text = await cli("logs", String(runs.at(-1)!.id));
    expect(text.stdout).toMatch(/✓ \S+ {2}.+ {2}\(exit 0, /);
    expect(text.stdout).toMatch(/ {4}\$ /);

    const missing = await cli("logs", "999999");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^relctl: run-id: run 999999 does not exist/);
    expect((await cli("logs", "abc")).stderr).toMatch(/^relctl: run-id: "abc" is not a run id/);
  });

  it("releases says how many there are and how to see more", async () => {
    await cli("release", "create", "mini", "v9");
    const page = await cli("releases", "--limit", "1", "--json");
    expect(page.json()).toMatchObject({ total: 2, limit: 1, releases: [{ release_tag: "v9" }] });
    expect((await cli("releases", "--limit", "1")).stdout).toMatch(
      /1 of 2 releases \(--limit 2 shows them all\)/,
    );
    expect((await cli("releases")).stdout).toMatch(/\n2 releases\n$/);
  });

  it("status and runs need no secret of relctl.yml; a command touching the environment names the one missing", async () => {
    const file = join(svc.dir, "with-secret.yml");
    writeFileSync(
      file,
      readFileSync(svc.configFile, "utf8").replace(
        /^environments:\n/m,
        `environments:\n  preview:\n    gate: { approvals: false }\n    path: ${join(svc.dir, "preview")}\n    env: { DATABASE_URL: "\${RELCTL_TEST_NOT_SET}" }\n    hosts: [{ address: local }]\n`,
      ),
    );
    const withSecret = { ...env, RELCTL_CONFIG: file };
    const status = await runCli(["status", String(releaseId)], withSecret, svc.dir);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/mini v1/);
    expect((await runCli(["runs", "mini"], withSecret, svc.dir)).code).toBe(0);
    const deploy = await runCli(["deploy", "mini", "v1", "-e", "preview", "--dry-run"], withSecret, svc.dir);
    expect(deploy.code).toBe(2);
    expect(deploy.stderr).toMatch(
      /environments\.preview\.env\.DATABASE_URL: environment variable RELCTL_TEST_NOT_SET is not set/,
    );
  });
});

describeWithSshd("relctl init writes a config that relctl doctor checks on real sshd hosts", () => {
  let sshd: SshdHandle;
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    sshd = await startSshd();
    db = await createPostgresTestDatabase("relctl_init");
    dir = mkdtempSync(join(tmpdir(), "relctl-init-"));
    env = { DATABASE_URL: db.url!, RELCTL_USER: "ops", CI: "1" };
  });
  afterAll(async () => {
    await sshd?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("init from flags, without a terminal; refuses to overwrite; hosts trust + doctor pass", async () => {
    const args = [
      "init",
      "--service",
      "shop",
      "--repository",
      "/srv/git/shop.git",
      "--host",
      `${sshd.user}@127.0.0.1:${sshd.port}`,
      "--private-key",
      sshd.userKeyPath,
      "--start",
      "sh bin/restart.sh",
    ];
    const asked = await runCli(["init", "--service", "shop"], env, dir);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toMatch(
      /^relctl: repository: required when not on a terminal \(pass --repository\)/,
    );

    const r = await runCli([...args, "--json"], env, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toEqual({
      service: "shop",
      files: [
        "relctl.yml",
        ".github/workflows/release.yml",
        ".github/workflows/production.yml",
        ".github/workflows/rollback.yml",
      ],
    });
    const text = readFileSync(join(dir, "relctl.yml"), "utf8");
    expect(text).toMatch(/^# relctl.yml of shop/);
    const config = parseConfig(text, { file: join(dir, "relctl.yml") });
    expect(Object.keys(config.environments)).toEqual(["stage", "production"]);
    expect(config.environments.production!.hosts[0]).toMatchObject({ address: "127.0.0.1", port: sshd.port });
    expect(readFileSync(join(dir, ".github/workflows/release.yml"), "utf8")).toMatch(
      /SHOP_STAGE_DATABASE_URL/,
    );

    const again = await runCli(args, env, dir);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/^relctl: force: relctl.yml, .* exist; pass --force to overwrite/);
    expect(readFileSync(join(dir, "relctl.yml"), "utf8")).toBe(text);
    expect((await runCli([...args, "--force", "--no-workflows"], env, dir)).code).toBe(0);

    for (const environment of ["stage", "production"]) {
      const trust = await runCli(["hosts", "trust", environment], env, dir);
      expect(trust.code, trust.stderr).toBe(0);
    }
    const doctor = await runCli(["doctor"], env, dir);
    expect(doctor.code, doctor.stderr).toBe(0);
    expect(doctor.stdout).toMatch(/✓ stage\/127.0.0.1 reachable: .*host key matches/);
    expect(doctor.stdout).toMatch(/✓ production\/127.0.0.1 commands/);
    expect(doctor.stdout).toMatch(/all \d+ checks passed/);
  });
});
