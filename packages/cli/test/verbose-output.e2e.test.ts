import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
import { runCli, spawnCli } from "./run-cli.js";

const SECRET = "tok-7f3a9c-very-secret";

/**
 * A build that prints to stdout and stderr (the secret among it), then waits for the test to say
 * go before it prints its last line and ends: what --verbose shows before that, it showed live.
 */
function addBuild(svc: MiniService, go: string): void {
  const build = `echo "pulling with token $BUILD_TOKEN"; echo "warning: cache is cold" >&2; i=0; while [ ! -f ${go} ] && [ "$i" -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; echo "linked $RELCTL_TAG"`;
  // relctl.yml reads the token from relctl's environment (so it is a secret of the steps).
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${BUILD_TOKEN} is relctl.yml's syntax.
  const token = '"${BUILD_TOKEN}"';
  const text = readFileSync(svc.configFile, "utf8")
    .replace("    commands:\n", `    commands:\n      build: '${build}'\n`)
    .replace(/ {4}env: \{ DB_FILE: ([^}]+) \}/, `    env: { DB_FILE: $1, BUILD_TOKEN: ${token} }`);
  writeFileSync(svc.configFile, text);
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50)))
    if (check()) return true;
  return check();
}

function verboseSuite(name: string, ssh: () => SshdHandle | undefined) {
  let t: TestDatabase;
  let svc: MiniService;
  let env: Record<string, string>;
  let go: string;

  beforeAll(async () => {
    t = await createPostgresTestDatabase(`relctl_verbose_${name}`);
    const sshd = ssh();
    svc = await createMiniService({
      service: "chatty",
      tags: [{ tag: "v1" }, { tag: "v2" }, { tag: "v3" }],
      environments: { stage: { hosts: 1 } },
      ...(sshd
        ? {
            ssh: {
              port: sshd.port,
              user: sshd.user,
              privateKey: sshd.userKeyPath,
              hostKey: sshd.hostPublicKeyLine,
            },
          }
        : {}),
    });
    go = join(svc.dir, "go");
    addBuild(svc, go);
    env = {
      DATABASE_URL: t.url!,
      RELCTL_CONFIG: svc.configFile,
      RELCTL_USER: "dev",
      BUILD_TOKEN: SECRET,
    };
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    await t?.drop();
  });

  it("--verbose shows each line of the build, host first and redacted, while the build still runs", async () => {
    rmSync(go, { force: true });
    const { child, done } = spawnCli(["release", "chatty", "v1", "--verbose"], env, svc.dir);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    let early: string;
    try {
      await until(
        () =>
          stderr.includes("    │ stage-1 pulling with token [REDACTED]\n") &&
          stderr.includes("    │ stage-1 warning: cache is cold\n"),
        30_000,
      );
      early = stderr;
    } finally {
      writeFileSync(go, "");
    }
    const r = await done;
    expect(early, r.stderr).toContain("    │ stage-1 pulling with token [REDACTED]\n");
    expect(early).toContain("    │ stage-1 warning: cache is cold\n");
    // The build had not ended: its last line and its ✓ line were still to come.
    expect(early).toMatch(/^→ stage-1 {2}echo "pulling/m);
    expect(early).not.toMatch(/^[✓✗] stage-1 {2}echo "pulling/m);
    expect(early).not.toContain("│ stage-1 linked");
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split("\n");
    const linked = lines.indexOf("    │ stage-1 linked v1");
    const ended = lines.findIndex((l) => /^✓ stage-1 {2}echo "pulling/.test(l));
    expect(linked, r.stderr).toBeGreaterThan(0);
    expect(ended).toBeGreaterThan(linked);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    expect(await svc.liveVersions("stage")).toEqual(["v1"]);
  });

  it("without --verbose nothing of the output is shown", async () => {
    expect(existsSync(go)).toBe(true);
    const r = await runCli(["release", "chatty", "v2"], env, svc.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^✓ stage-1 {2}echo "pulling/m);
    expect(r.stderr).not.toMatch(/│|with token \[REDACTED\]|^warning: cache/m);
  });

  it("--verbose --json: each line a JSON line before the step's end", async () => {
    const r = await runCli(["release", "chatty", "v3", "--verbose", "--json"], env, svc.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).not.toContain(SECRET);
    const events = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const build = events.filter((e) => e.step === "build");
    expect(build.map((e) => e.event)).toEqual([
      "step-start",
      "step-output",
      "step-output",
      "step-output",
      "step-end",
    ]);
    // Each stream keeps its order; stdout and stderr may interleave either way.
    const said = (stream: string) => build.filter((e) => e.stream === stream).map((e) => e.line);
    expect(said("stdout")).toEqual(["pulling with token [REDACTED]", "linked v3"]);
    expect(said("stderr")).toEqual(["warning: cache is cold"]);
    expect(build[1]).toMatchObject({ host: "stage-1" });
    expect(r.json()).toMatchObject({ status: "succeeded" });
  });
}

describe("relctl --verbose on hosts of this machine", () => {
  verboseSuite("local", () => undefined);
});

describeWithSshd("relctl --verbose on sshd hosts", () => {
  let sshd: SshdHandle;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
  });
  verboseSuite("ssh", () => sshd);
});
