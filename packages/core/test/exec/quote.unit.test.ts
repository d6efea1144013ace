import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import {
  buildRemoteCommand,
  createOutputCollector,
  quoteArg,
  quoteArgv,
  redact,
  STEP_SUPERVISOR,
} from "../../src/adapters/exec/quote.js";
import { UsageError } from "../../src/errors.js";
import type { Step } from "../../src/ports/executor.js";

const NASTY = [
  "v1;$(id)",
  'it\'s "quoted"',
  "'",
  "''",
  "line1\nline2\n",
  "`id`",
  "$HOME",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point
  "${HOME}",
  "a b  c\t",
  "",
  "--help",
  "-n",
  "*",
  "~",
  "~root",
  "A=B",
  "\\",
  "\\'",
  "!!",
  "a&&b||c|d>e<f",
  "#comment",
  "ü é 日本 🚀",
  "\u0001\u001b[31mred",
];

const SHELLS = ["/bin/sh", "/bin/bash", "/bin/dash"].filter((shell) => existsSync(shell));

function step(overrides: Partial<Step>): Step {
  return { id: "test", title: "test", argv: ["true"], timeoutMs: 5000, ...overrides };
}

describe("quoteArg", () => {
  it("quotes the empty string as ''", () => {
    expect(quoteArg("")).toBe("''");
  });

  it("leaves plain words alone and single-quotes the rest", () => {
    expect(quoteArg("abc-1.2/x")).toBe("abc-1.2/x");
    expect(quoteArg("a b")).toBe("'a b'");
    expect(quoteArg("it's")).toBe("'it'\\''s'");
    expect(quoteArg("A=B")).toBe("'A=B'");
    expect(quoteArg("~")).toBe("'~'");
  });

  it("rejects NUL, which no shell argument can hold", () => {
    expect(() => quoteArg("a\0b")).toThrow(UsageError);
  });

  for (const shell of SHELLS) {
    it(`round-trips hostile values through a real ${shell}`, async () => {
      for (const value of NASTY) {
        const line = `sh -c 'printf %s "$1"' sh ${quoteArg(value)}`;
        const { stdout } = await execa(shell, ["-c", line], { stripFinalNewline: false });
        expect(stdout).toBe(value);
      }
    });
  }

  it("quoteArgv keeps each argument one word", async () => {
    const line = `printf '[%s]' ${quoteArgv(NASTY)}`;
    const { stdout } = await execa("/bin/sh", ["-c", line], { stripFinalNewline: false });
    expect(stdout).toBe(NASTY.map((v) => `[${v}]`).join(""));
  });
});

describe("buildRemoteCommand", () => {
  it("runs argv under the step supervisor with the deadline rounded up to seconds and its pid file", () => {
    expect(buildRemoteCommand(step({ argv: ["echo", "hi"], timeoutMs: 1500 }))).toBe(
      `exec sh -c ${quoteArg(STEP_SUPERVISOR)} relctl-step - 2 5 echo hi`,
    );
    expect(
      buildRemoteCommand(
        step({ argv: ["echo", "hi"], timeoutMs: 1500, pidFile: "/srv/a b/.relctl/step.pid" }),
      ),
    ).toBe(`exec sh -c ${quoteArg(STEP_SUPERVISOR)} relctl-step '/srv/a b/.relctl/step.pid' 2 5 echo hi`);
  });

  it("adds cd and env in front", () => {
    expect(
      buildRemoteCommand(
        step({ argv: ["make"], cwd: "/srv/my app", env: { A: "1 2", B_2: "" }, timeoutMs: 60_000 }),
      ),
    ).toBe(
      `cd -- '/srv/my app' && exec env A='1 2' B_2='' sh -c ${quoteArg(STEP_SUPERVISOR)} relctl-step - 60 5 make`,
    );
  });

  it("rejects invalid env names, empty argv and bad timeouts", () => {
    for (const name of ["lower", "1ABC", "A-B", "A B", "", "A=B", "$(id)"]) {
      expect(() => buildRemoteCommand(step({ env: { [name]: "x" } }))).toThrow(UsageError);
    }
    expect(() => buildRemoteCommand(step({ argv: [] }))).toThrow(UsageError);
    expect(() => buildRemoteCommand(step({ timeoutMs: 0 }))).toThrow(UsageError);
    expect(() => buildRemoteCommand(step({ timeoutMs: Number.NaN }))).toThrow(UsageError);
  });

  it("runs under a real shell with cwd, env and argv intact", async () => {
    const dir = await mkdtemp(join(tmpdir(), "relctl quote 'dir' "));
    try {
      for (const value of NASTY) {
        const command = buildRemoteCommand(
          step({
            argv: ["sh", "-c", 'printf "%s|%s|%s" "$(pwd)" "$X" "$1"', "sh", value],
            cwd: dir,
            env: { X: value },
          }),
        );
        const { stdout } = await execa("/bin/sh", ["-c", command], { stripFinalNewline: false });
        expect(stdout).toBe(`${dir}|${value}|${value}`);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails (non-zero) when cwd does not exist", async () => {
    const command = buildRemoteCommand(step({ argv: ["true"], cwd: "/nonexistent/relctl" }));
    const result = await execa("/bin/sh", ["-c", command], { reject: false });
    expect(result.exitCode).not.toBe(0);
  });

  it("kills the command at its deadline: timeout exits 124", async () => {
    const started = Date.now();
    const result = await execa(
      "/bin/sh",
      ["-c", buildRemoteCommand(step({ argv: ["sleep", "30"], timeoutMs: 1000 }))],
      {
        reject: false,
      },
    );
    expect(result.exitCode).toBe(124);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("redact", () => {
  it("replaces every occurrence of each non-empty value", () => {
    expect(redact("token=abc123 again abc123", ["abc123"])).toBe("token=[REDACTED] again [REDACTED]");
    expect(redact("nothing here", ["", "zzz"])).toBe("nothing here");
    expect(redact("text", undefined)).toBe("text");
  });

  it("replaces a secret containing another secret whole", () => {
    expect(redact("pw=hunter2hunter3", ["hunter2", "hunter2hunter3"])).toBe("pw=[REDACTED]");
  });

  it("treats values literally, not as patterns", () => {
    expect(redact("a.c abc $1 (x)", [".", "$1", "(x)"])).toBe("a[REDACTED]c abc [REDACTED] [REDACTED]");
  });
});

describe("createOutputCollector", () => {
  it("redacts a secret split across chunks before it reaches onOutput", () => {
    const chunks: string[] = [];
    const collector = createOutputCollector(["hunter2"], (chunk) => chunks.push(chunk));
    collector.push("stdout", "pw=hun");
    collector.push("stdout", "te");
    collector.push("stdout", "r2 done\n");
    const { stdout, tail } = collector.finish();
    expect(chunks.join("")).toBe("pw=[REDACTED] done\n");
    expect(stdout).toBe("pw=[REDACTED] done\n");
    expect(tail).toBe("pw=[REDACTED] done");
  });

  it("flushes held-back text that turned out not to be a secret", () => {
    const chunks: string[] = [];
    const collector = createOutputCollector(["hunter2"], (chunk) => chunks.push(chunk));
    collector.push("stdout", "hunt");
    collector.finish();
    expect(chunks.join("")).toBe("hunt");
  });

  it("keeps the last 20 lines of both streams and caps stdout at 1 MiB", () => {
    const collector = createOutputCollector([]);
    for (let i = 1; i <= 30; i++) collector.push(i % 2 ? "stdout" : "stderr", `line ${i}\n`);
    collector.push("stdout", Buffer.alloc(2 * 1024 * 1024, "x"));
    const { stdout, tail } = collector.finish();
    expect(Buffer.byteLength(stdout)).toBe(1024 * 1024);
    const lines = tail.split("\n");
    expect(lines).toHaveLength(20);
    expect(lines[0]).toBe("line 12");
    expect(lines[18]).toBe("line 30");
  });

  it("does not split multi-byte characters between chunks", () => {
    const chunks: string[] = [];
    const collector = createOutputCollector([], (chunk) => chunks.push(chunk));
    const bytes = Buffer.from("日本");
    collector.push("stdout", bytes.subarray(0, 2));
    collector.push("stdout", bytes.subarray(2));
    expect(collector.finish().stdout).toBe("日本");
    expect(chunks.join("")).toBe("日本");
  });
});
