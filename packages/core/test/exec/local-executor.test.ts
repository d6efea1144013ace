import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalExecutor } from "../../src/adapters/exec/local-executor.js";
import { UsageError } from "../../src/errors.js";
import type { HostSession, Step } from "../../src/ports/executor.js";

function step(overrides: Partial<Step>): Step {
  return { id: "test", title: "test", argv: ["true"], timeoutMs: 10_000, ...overrides };
}

function uniqueMarker(): string {
  return `${30 + Math.floor(Math.random() * 20)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
}

async function pids(pattern: string): Promise<number[]> {
  const { stdout } = await execa("pgrep", ["-f", pattern], { reject: false });
  return stdout.split("\n").filter(Boolean).map(Number);
}

describe("local executor", () => {
  let session: HostSession;
  let dir: string;

  beforeAll(async () => {
    session = await createLocalExecutor().open({ name: "local", address: "local", port: 0, user: "" });
    dir = await realpath(await mkdtemp(join(tmpdir(), "relctl-local-")));
  });
  afterAll(async () => {
    await session.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports exit codes and stdout", async () => {
    const ok = await session.run(step({ argv: ["sh", "-c", "echo hello; echo oops >&2"] }));
    expect(ok).toMatchObject({ exitCode: 0, timedOut: false, connectionLost: false, stdout: "hello\n" });
    expect(ok.tail).toBe("hello\noops");
    expect((await session.run(step({ argv: ["sh", "-c", "exit 3"] }))).exitCode).toBe(3);
    expect((await session.run(step({ argv: ["false"] }))).exitCode).toBe(1);
  });

  it("passes argv verbatim without a shell", async () => {
    const hostile = "v1;$(id) `id` $HOME 'q' \"d\"\nline2";
    const result = await session.run(step({ argv: ["printf", "%s", hostile] }));
    expect(result.stdout).toBe(hostile);
  });

  it("feeds stdin and closes it; no stdin means EOF, not a hang", async () => {
    expect((await session.run(step({ argv: ["cat"], stdin: "line1\nline2\n" }))).stdout).toBe(
      "line1\nline2\n",
    );
    const noStdin = await session.run(step({ argv: ["cat"], timeoutMs: 3000 }));
    expect(noStdin).toMatchObject({ exitCode: 0, timedOut: false, stdout: "" });
  });

  it("runs in cwd with extra env", async () => {
    const result = await session.run(
      step({
        argv: ["sh", "-c", 'printf "%s|%s|%s" "$(pwd)" "$RELCTL_X" "$PATH"'],
        cwd: dir,
        env: { RELCTL_X: "a b$c" },
      }),
    );
    const [cwd, x, path] = result.stdout.split("|");
    expect(cwd).toBe(dir);
    expect(x).toBe("a b$c");
    expect(path).toBe(process.env.PATH); // what a login on the host has is kept
  });

  it("never hands relctl's own secrets to a step: only what a login has, and the step's env", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      DATABASE_URL: "postgres://relctl:secret@db/relctl",
      GITHUB_TOKEN: "ghs_relctlsecret",
      TELEGRAM_BOT_TOKEN: "1:relctlsecret",
      LC_ALL: "C.UTF-8",
    });
    try {
      const result = await session.run(step({ argv: ["env"], env: { SERVICE_DB: "postgres://svc/db" } }));
      const names = result.stdout
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split("=")[0]);
      expect(result.stdout).not.toContain("relctlsecret");
      expect(names).not.toContain("DATABASE_URL");
      expect(names).toEqual(expect.arrayContaining(["PATH", "SERVICE_DB", "LC_ALL"]));
    } finally {
      process.env = saved;
    }
  });

  it("gives a failed result, not an exception, for a missing cwd", async () => {
    const result = await session.run(step({ argv: ["true"], cwd: join(dir, "missing") }));
    expect(result.exitCode).toBe(127);
    expect(result.tail).toContain("working directory does not exist");
  });

  it("reports a missing program as exit 127", async () => {
    const result = await session.run(step({ argv: ["relctl-no-such-program-xyz", "arg"] }));
    expect(result).toMatchObject({ exitCode: 127, timedOut: false });
    expect(result.tail).toContain("command not found: relctl-no-such-program-xyz");
  });

  it("rejects invalid env names", async () => {
    await expect(session.run(step({ env: { "bad-name": "x" } }))).rejects.toBeInstanceOf(UsageError);
  });

  it("kills the whole process group at the timeout", async () => {
    const marker = uniqueMarker();
    const started = Date.now();
    const result = await session.run(step({ argv: ["sh", "-c", `sleep ${marker} & wait`], timeoutMs: 1000 }));
    const elapsed = Date.now() - started;
    expect(result).toMatchObject({ timedOut: true, exitCode: null });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    // Ended at its timeout, not when the sleep would have (30 s or more): a loaded machine may
    // take a few seconds more than the second itself.
    expect(elapsed).toBeLessThan(10_000);
    expect(await pids(`sleep ${marker}`)).toEqual([]);
  });

  it("escalates to KILL for a group that ignores TERM", async () => {
    const marker = uniqueMarker();
    const started = Date.now();
    const result = await session.run(
      step({ argv: ["sh", "-c", `trap '' TERM; sleep ${marker} & wait; wait`], timeoutMs: 500 }),
    );
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(4500);
    expect(await pids(`sleep ${marker}`)).toEqual([]);
  });

  it("redacts sensitive values in tail, stdout and onOutput, even split across chunks", async () => {
    const chunks: string[] = [];
    const result = await session.run(
      step({
        argv: ["sh", "-c", "printf 'token=hun'; sleep 0.2; printf 'ter2\\n'; echo hunter2 >&2"],
        sensitive: ["hunter2"],
      }),
      { onOutput: (chunk) => chunks.push(chunk) },
    );
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join("")).not.toContain("hunter2");
    expect(chunks.join("")).toContain("token=[REDACTED]");
    expect(result.tail).toBe("token=[REDACTED]\n[REDACTED]");
    expect(result.stdout).toBe("token=[REDACTED]\n");
  });

  it("keeps only the last 20 lines in tail", async () => {
    const result = await session.run(step({ argv: ["seq", "1", "100"] }));
    expect(result.tail.split("\n")).toEqual(Array.from({ length: 20 }, (_, i) => String(81 + i)));
    expect(result.stdout.split("\n")).toHaveLength(101);
  });

  it("has no SSH handshakes", () => {
    expect(createLocalExecutor().handshakes).toBe(0);
  });
});
