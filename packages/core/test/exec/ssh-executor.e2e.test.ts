import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWithSshd, type SshdHandle, startSshd } from "@relctl/testkit";
import { execa } from "execa";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createExecutor } from "../../src/adapters/exec/index.js";
import { createSshExecutor, fingerprintOf, scanHostKey } from "../../src/adapters/exec/ssh-executor.js";
import type { HostTarget, Step } from "../../src/ports/executor.js";

function step(overrides: Partial<Step>): Step {
  return { id: "test", title: "test", argv: ["true"], timeoutMs: 10_000, ...overrides };
}

/** A `sleep` duration nobody else uses, so `pgrep -f "sleep <marker>"` finds only our process. */
function uniqueMarker(): string {
  return `${30 + Math.floor(Math.random() * 40)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, "0")}`;
}

async function pids(pattern: string): Promise<number[]> {
  const { stdout } = await execa("pgrep", ["-f", pattern], { reject: false });
  return stdout.split("\n").filter(Boolean).map(Number);
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

function killByPid(list: readonly number[]): void {
  for (const pid of list) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

const HOSTILE = [
  "v1;$(id)",
  'it\'s "quoted" `id`',
  "line1\nline2\n",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  "$HOME ${PATH} \\$x",
  "  spaced  out  ",
  "",
  "--help",
  "*?[a]",
  "ü 日本 🚀",
];

describeWithSshd("ssh executor", () => {
  let sshd: SshdHandle;
  const target = (overrides: Partial<HostTarget> = {}): HostTarget => ({
    name: "test-host",
    address: sshd.host,
    port: sshd.port,
    user: sshd.user,
    privateKeyPath: sshd.userKeyPath,
    hostKey: sshd.hostKeyFingerprint,
    connectTimeoutMs: 5000,
    ...overrides,
  });

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it("runs several steps over one connection and one login: one handshake, one authentication", async () => {
    const authsBefore = sshd.authsAccepted();
    const sessionsBefore = sshd.sessionsOpened();
    const executor = createSshExecutor();
    const session = await executor.open(target());
    try {
      const hello = await session.run(step({ argv: ["sh", "-c", "echo hello; echo oops >&2"] }));
      expect(hello).toMatchObject({ exitCode: 0, timedOut: false, connectionLost: false, stdout: "hello\n" });
      expect(hello.tail.split("\n").sort()).toEqual(["hello", "oops"]);
      expect((await session.run(step({ argv: ["sh", "-c", "exit 3"] }))).exitCode).toBe(3);
      expect((await session.run(step({ argv: ["false"] }))).exitCode).toBe(1);
      expect((await session.run(step({ argv: ["relctl-no-such-program-xyz"] }))).exitCode).toBe(127);
      expect((await session.run(step({ argv: ["cat"], stdin: "in\nput\n" }))).stdout).toBe("in\nput\n");
      expect((await session.run(step({ argv: ["cat"], timeoutMs: 3000 }))).stdout).toBe("");
      const where = await session.run(
        step({
          argv: ["sh", "-c", 'printf "%s|%s" "$(pwd)" "$RELCTL_X"'],
          cwd: sshd.dir,
          env: { RELCTL_X: "a b" },
        }),
      );
      expect(where.stdout).toBe(`${sshd.dir}|a b`);
      const missingCwd = await session.run(step({ argv: ["true"], cwd: join(sshd.dir, "missing") }));
      expect(missingCwd.exitCode).not.toBe(0);
      expect(missingCwd.exitCode).not.toBeNull();
    } finally {
      await session.close();
      await session.close(); // idempotent
    }
    expect(executor.handshakes).toBe(1);
    expect(sshd.authsAccepted() - authsBefore).toBe(1);
    // One login shell runs every step; only the step with stdin gets a channel of its own.
    expect(sshd.sessionsOpened() - sessionsBefore).toBe(2);
  });

  it("authenticates with the configured key at once, without ssh2's opening none request", async () => {
    const lines: string[] = [];
    const session = await createSshExecutor({ debug: (line) => lines.push(line) }).open(target());
    try {
      expect((await session.run(step({ argv: ["true"] }))).exitCode).toBe(0);
    } finally {
      await session.close();
    }
    const requests = lines.filter((line) => line.includes("Sending USERAUTH_REQUEST"));
    expect(requests).toEqual([
      "Outbound: Sending USERAUTH_REQUEST (publickey -- check)",
      "Outbound: Sending USERAUTH_REQUEST (publickey)",
    ]);
  });

  it("opens a login per step when the shared shell is off", async () => {
    const sessionsBefore = sshd.sessionsOpened();
    const session = await createSshExecutor({ sharedShell: false }).open(target());
    try {
      for (const code of [0, 3, 0]) {
        expect((await session.run(step({ argv: ["sh", "-c", `exit ${code}`] }))).exitCode).toBe(code);
      }
    } finally {
      await session.close();
    }
    expect(sshd.sessionsOpened() - sessionsBefore).toBe(3);
  });

  it("keeps each step's output its own in the shared shell, even output that imitates the end of a step", async () => {
    const session = await createSshExecutor().open(target());
    try {
      const noNewline = await session.run(step({ argv: ["printf", "no newline"] }));
      expect(noNewline).toMatchObject({ exitCode: 0, stdout: "no newline" });
      const forged = await session.run(
        step({
          argv: [
            "sh",
            "-c",
            'printf "\\036%s 0\\036\\n" 0123456789abcdef0123456789abcdef; printf "x\\036"; exit 4',
          ],
        }),
      );
      expect(forged.exitCode).toBe(4);
      expect(forged.stdout).toBe("\x1e0123456789abcdef0123456789abcdef 0\x1e\nx\x1e");
      const big = await session.run(
        step({ argv: ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' a; echo; echo err >&2"] }),
      );
      expect(big.stdout.length).toBe(300_001);
      expect(big.tail.split("\n")).toContain("err");
      expect((await session.run(step({ argv: ["echo", "next"] }))).stdout).toBe("next\n");
    } finally {
      await session.close();
    }
  });

  it("a step that leaves a process holding its output ends when its command does", async () => {
    const marker = uniqueMarker();
    const session = await createSshExecutor().open(target());
    try {
      const started = Date.now();
      const result = await session.run(step({ argv: ["sh", "-c", `sleep ${marker} & echo started`] }));
      expect(result).toMatchObject({ exitCode: 0, stdout: "started\n" });
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await session.close();
      killByPid(await pids(`sleep ${marker}`));
    }
  });

  it("goes on with a channel per step when the shared shell dies", async () => {
    const session = await createSshExecutor().open(target());
    try {
      // The step's supervisor is a child of the shell: kill the shell under it.
      const killed = await session.run(
        step({
          argv: ["sh", "-c", 'kill -KILL "$(ps -o ppid= -p "$PPID" | tr -d " ")"; sleep 1'],
          timeoutMs: 5000,
        }),
      );
      expect(killed.exitCode).toBeNull();
      expect(killed.connectionLost).toBe(false);
      const after = await session.run(step({ argv: ["sh", "-c", "echo still here; exit 5"] }));
      expect(after).toMatchObject({ exitCode: 5, stdout: "still here\n", connectionLost: false });
    } finally {
      await session.close();
    }
  });

  it("delivers hostile argv, env and cwd verbatim", async () => {
    const executor = createSshExecutor();
    const session = await executor.open(target());
    try {
      for (const [index, value] of HOSTILE.entries()) {
        const file = join(sshd.dir, `value-${index}`);
        const write = await session.run(
          step({ argv: ["sh", "-c", 'printf %s "$1" > "$2"', "sh", value, file], env: { RELCTL_V: value } }),
        );
        expect(write.exitCode).toBe(0);
        expect(await readFile(file, "utf8")).toBe(value);
        const readBack = await session.run(step({ argv: ["cat", "--", file] }));
        expect(readBack.stdout).toBe(value);
        const env = await session.run(
          step({ argv: ["sh", "-c", 'printf %s "$RELCTL_V"'], env: { RELCTL_V: value } }),
        );
        expect(env.stdout).toBe(value);
      }
    } finally {
      await session.close();
    }
  });

  it("accepts a public key line as hostKey", async () => {
    const executor = createSshExecutor();
    const session = await executor.open(target({ hostKey: `${sshd.hostPublicKeyLine} some comment` }));
    expect((await session.run(step({ argv: ["true"] }))).exitCode).toBe(0);
    await session.close();
    expect(executor.handshakes).toBe(1);
  });

  it("aborts before authentication on a host key mismatch", async () => {
    const connectionsBefore = sshd.connectionsSeen();
    const logBefore = sshd.log().length;
    const wrongFingerprint = fingerprintOf(randomBytes(51));
    const executor = createSshExecutor();
    const error = await executor.open(target({ hostKey: wrongFingerprint })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "host_key_mismatch", kind: "external" });
    const message = (error as Error).message;
    expect(message).toContain("test-host");
    expect(message).toContain(wrongFingerprint);
    expect(message).toContain(sshd.hostKeyFingerprint);

    // Another key's public line (the user key) must not pass either.
    const userPub = (await readFile(`${sshd.userKeyPath}.pub`, "utf8")).trim();
    await expect(executor.open(target({ hostKey: userPub }))).rejects.toMatchObject({
      code: "host_key_mismatch",
    });
    expect(executor.handshakes).toBe(0);

    // The connections did reach sshd, but nothing was authenticated and no session ran.
    expect(await waitFor(() => sshd.connectionsSeen() - connectionsBefore === 2, 2000)).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    const newLog = sshd.log().slice(logBefore);
    expect(newLog).not.toMatch(/Accepted publickey|Postponed publickey|Failed publickey|Starting session/);
  });

  it("refuses to connect without a hostKey", async () => {
    const connectionsBefore = sshd.connectionsSeen();
    const error = await createSshExecutor()
      .open(target({ hostKey: undefined }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "host_key_missing", kind: "usage" });
    expect((error as { hint?: string }).hint).toContain("relctl hosts trust");
    await new Promise((r) => setTimeout(r, 200));
    expect(sshd.connectionsSeen()).toBe(connectionsBefore);
  });

  it("reports an unknown user key as ssh_auth_failed without leaking the key", async () => {
    const key = await readFile(sshd.strangerKeyPath, "utf8");
    const executor = createSshExecutor();
    const error = await executor
      .open(target({ privateKeyPath: sshd.strangerKeyPath }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "ssh_auth_failed" });
    const keyBody = key.split("\n")[1] ?? "";
    expect(keyBody.length).toBeGreaterThan(10);
    expect((error as Error).message).not.toContain(keyBody);
    expect(executor.handshakes).toBe(1); // the host was verified; only authentication failed
  });

  it("reports a closed port as ssh_connect_failed", async () => {
    const probe = await closedPort();
    await expect(createSshExecutor().open(target({ port: probe }))).rejects.toMatchObject({
      code: "ssh_connect_failed",
    });
  });

  it("times out a hanging remote step and kills the remote process", async () => {
    const marker = uniqueMarker();
    const session = await createSshExecutor().open(target());
    try {
      const started = Date.now();
      const result = await session.run(step({ argv: ["sleep", marker], timeoutMs: 2000 }));
      const elapsed = Date.now() - started;
      expect(result).toMatchObject({ timedOut: true, exitCode: null, connectionLost: false });
      expect(elapsed).toBeGreaterThanOrEqual(2000);
      expect(elapsed).toBeLessThan(4500);
      expect(await pids(`sleep ${marker}`)).toEqual([]);
      // The session is still usable after a timeout.
      expect((await session.run(step({ argv: ["true"] }))).exitCode).toBe(0);
    } finally {
      await session.close();
    }
  });

  it("ends a step whose command ignores TERM at the safety net; remote timeout KILLs it", async () => {
    const marker = uniqueMarker();
    const session = await createSshExecutor().open(target());
    try {
      const started = Date.now();
      const result = await session.run(
        step({ argv: ["sh", "-c", `trap '' TERM; sleep ${marker} & wait; wait`], timeoutMs: 1000 }),
      );
      // Remote `timeout` sends TERM at 1 s (ignored) and KILL at 1 + 5 s; the local safety net ends the
      // step at 1 + 3 s. (Its SSH "KILL" signal is refused by OpenSSH for root sessions.)
      expect(result).toMatchObject({ timedOut: true, exitCode: null, connectionLost: false });
      expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
      expect(Date.now() - started).toBeLessThan(5500);
      expect(await waitFor(async () => (await pids(`sleep ${marker}`)).length === 0, 3500)).toBe(true);
      expect((await session.run(step({ argv: ["true"] }))).exitCode).toBe(0);
    } finally {
      killByPid(await pids(`sleep ${marker}`));
      await session.close();
    }
  });

  it("ends, at its deadline, a command under sh that ignores TERM, with every child it started", async () => {
    const marker = uniqueMarker();
    const session = await createSshExecutor().open(target());
    try {
      // The shape that used to outlive its timeout: TERM ended the outer sh, and the KILL never came.
      const result = await session.run(
        step({
          argv: ["sh", "-c", `sh -c 'trap "" TERM; sleep ${marker} & sleep ${marker}; wait'; echo after`],
          timeoutMs: 1000,
        }),
      );
      expect(result).toMatchObject({ timedOut: true, exitCode: null });
      // TERM to the whole process group at 1-2 s, KILL after the 5 s grace.
      expect(await waitFor(async () => (await pids(`sleep ${marker}`)).length === 0, 9000)).toBe(true);
    } finally {
      killByPid(await pids(`sleep ${marker}`));
      await session.close();
    }
  });

  it("records the step's process group in its pid file while it runs, and removes the file after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relctl-pid-"));
    const pidFile = join(dir, ".relctl", "step.pid");
    const session = await createSshExecutor().open(target());
    try {
      const marker = uniqueMarker();
      const running = session.run(
        step({ argv: ["sh", "-c", `sleep ${marker}`], timeoutMs: 20_000, pidFile }),
      );
      expect(await waitFor(async () => existsSync(pidFile), 5000)).toBe(true);
      const pgid = Number(readFileSync(pidFile, "utf8"));
      // The recorded id leads the group the command's processes run in.
      const { stdout } = await execa("ps", [
        "-o",
        "pgid=",
        "-p",
        String((await pids(`^sleep ${marker}$`))[0]),
      ]);
      expect(Number(stdout.trim())).toBe(pgid);
      process.kill(-pgid, "SIGTERM");
      expect((await running).exitCode).not.toBe(0);
      expect(existsSync(pidFile)).toBe(false);
    } finally {
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("resolves with connectionLost when the connection drops mid-step, then refuses to run", async () => {
    const marker = uniqueMarker();
    const session = await createSshExecutor().open(target());
    try {
      const running = session.run(step({ argv: ["sleep", marker], timeoutMs: 20_000 }));
      expect(await waitFor(async () => (await pids(`sleep ${marker}`)).length > 0, 5000)).toBe(true);
      expect(sshd.dropConnections()).toBeGreaterThan(0);
      const result = await running;
      expect(result).toMatchObject({ connectionLost: true, exitCode: null, timedOut: false });
      await expect(session.run(step({ argv: ["true"] }))).rejects.toMatchObject({
        code: "ssh_connection_lost",
      });
    } finally {
      // Cut off from sshd, the remote `timeout` and `sleep` would live until the 20 s deadline.
      killByPid(await pids(`sleep ${marker}`));
      await session.close();
    }
  });

  it("redacts sensitive values in streamed output and tail", async () => {
    const session = await createSshExecutor().open(target());
    const chunks: string[] = [];
    try {
      const result = await session.run(
        step({
          argv: ["sh", "-c", 'printf "token=%s\\n" "$1"; printf "%s\\n" "$1" >&2', "sh", "s3cr3t-value"],
          sensitive: ["s3cr3t-value"],
        }),
        { onOutput: (chunk) => chunks.push(chunk) },
      );
      expect(result.exitCode).toBe(0);
      expect(chunks.join("")).toContain("token=[REDACTED]");
      expect(chunks.join("")).not.toContain("s3cr3t");
      expect(result.tail).not.toContain("s3cr3t");
      expect(result.stdout).toBe("token=[REDACTED]\n");
    } finally {
      await session.close();
    }
  });

  it("scanHostKey returns the server's key without authenticating", async () => {
    const authsBefore = sshd.authsAccepted();
    const scanned = await scanHostKey(sshd.host, sshd.port, 5000);
    expect(scanned.fingerprint).toBe(sshd.hostKeyFingerprint);
    expect(scanned.publicKeyLine).toBe(sshd.hostPublicKeyLine);
    expect(scanned.keyType).toBe("ssh-ed25519");
    expect(sshd.authsAccepted()).toBe(authsBefore);
  });

  it("prepare loads the SSH client without contacting the host; the session opens after it", async () => {
    const executor = createExecutor();
    // sshd logs a connection a little after it happens (the start-up's probe included).
    await new Promise((r) => setTimeout(r, 300));
    const before = { connections: sshd.connectionsSeen(), auths: sshd.authsAccepted() };
    executor.prepare?.([target(), { name: "me", address: "local", port: 0, user: "" }]);
    await new Promise((r) => setTimeout(r, 300));
    expect({ connections: sshd.connectionsSeen(), auths: sshd.authsAccepted() }).toEqual(before);
    expect(executor.handshakes).toBe(0);
    const session = await executor.open(target());
    try {
      expect((await session.run(step({ argv: ["true"] }))).exitCode).toBe(0);
      expect(executor.handshakes).toBe(1);
    } finally {
      await session.close();
    }
  });

  it("createExecutor dispatches local and SSH targets and sums handshakes", async () => {
    const executor = createExecutor();
    const local = await executor.open({ name: "me", address: "local", port: 0, user: "" });
    const remote = await executor.open(target());
    try {
      expect((await local.run(step({ argv: ["sh", "-c", "echo $$"] }))).exitCode).toBe(0);
      expect((await remote.run(step({ argv: ["true"] }))).exitCode).toBe(0);
      expect(executor.handshakes).toBe(1);
    } finally {
      await local.close();
      await remote.close();
    }
  });
});

/** A port on which nothing listens (bound, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 1));
    });
  });
}
