import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPostgresTestDatabase,
  describeWithSshd,
  type SshdHandle,
  startSshd,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

describeWithSshd("relctl hosts trust and relctl doctor on a real sshd", () => {
  let sshd: SshdHandle;
  let other: SshdHandle;
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  const file = () => join(dir, "relctl.yml");

  beforeAll(async () => {
    [sshd, other] = await Promise.all([startSshd(), startSshd()]);
    db = await createPostgresTestDatabase("relctl_hosts");
    dir = mkdtempSync(join(tmpdir(), "relctl-hosts-"));
    env = { DATABASE_URL: db.url!, RELCTL_USER: "ops", CI: "1" };
    writeFileSync(
      file(),
      `# hosts of hello
service: hello
repository: /srv/git/hello.git
environments:
  stage:
    path: /srv/hello
    hosts:
      - address: 127.0.0.1 # the stage box
        port: ${sshd.port}
        user: ${sshd.user}
        private_key: ${sshd.userKeyPath}
`,
    );
  });
  afterAll(async () => {
    await Promise.all([sshd?.stop(), other?.stop()]);
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to deploy to a host whose key is not recorded", async () => {
    const seen = sshd.connectionsSeen();
    const r = await runCli(["deploy", "hello", "v1.0.0", "--env", "stage"], env, dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /stage\/127.0.0.1: no host key configured \(record it with: relctl hosts trust stage\)/,
    );
    expect(sshd.connectionsSeen()).toBe(seen);
    expect((await db.db.sql`SELECT count(*)::int AS c FROM releases`)[0]!.c).toBe(0);
  });

  it("records the presented key without logging in, keeping the file's comments", async () => {
    const r = await runCli(["hosts", "trust", "stage"], env, dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${sshd.hostKeyFingerprint}  recorded`);
    const text = readFileSync(file(), "utf8");
    expect(text).toContain(`host_key: ${sshd.hostKeyFingerprint}`);
    expect(text).toContain("# the stage box");
    expect(sshd.authsAccepted()).toBe(0);
    const again = await runCli(["hosts", "trust", "stage"], env, dir);
    expect(again.stdout).toContain("matches");
  });

  it("doctor checks the database, the config and each host", async () => {
    const r = await runCli(["doctor", "--json"], env, dir);
    expect(r.code, r.stderr).toBe(0);
    const result = r.json<{ ok: boolean; checks: { check: string; ok: boolean }[] }>();
    expect(result.ok).toBe(true);
    expect(result.checks.map((c) => c.check)).toEqual([
      "database",
      "config",
      "repository",
      "stage/127.0.0.1 reachable",
      "stage/127.0.0.1 commands",
    ]);
  });

  it("doctor fails a config without a repository, saying deploys need one", async () => {
    const text = readFileSync(file(), "utf8");
    writeFileSync(file(), text.replace(/^repository: .*\n/m, ""));
    try {
      const r = await runCli(["doctor", "--env", "stage"], env, dir);
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(
        /✗ repository: relctl.yml has no repository: deploys need the git URL or path/,
      );
    } finally {
      writeFileSync(file(), text);
    }
  });

  it("doctor and trust fail when the host presents another key", async () => {
    const text = readFileSync(file(), "utf8").replace(`port: ${sshd.port}`, `port: ${other.port}`);
    writeFileSync(file(), text);
    const doctor = await runCli(["doctor"], env, dir);
    expect(doctor.code).toBe(4);
    // The checks are the result: on stdout, so `relctl doctor > report.txt` keeps them.
    expect(doctor.stdout).toMatch(/✗ stage\/127.0.0.1 reachable: .*host key/i);
    expect(doctor.stdout).toMatch(/checks failed/);
    const trust = await runCli(["hosts", "trust", "stage"], env, dir);
    expect(trust.code).toBe(4);
    expect(trust.stderr).toMatch(/presents SHA256:.*relctl.yml has SHA256:/);
    expect(readFileSync(file(), "utf8")).toBe(text);
    expect(other.authsAccepted()).toBe(0);
  });
});
