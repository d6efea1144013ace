import { describe, expect, it } from "vitest";
import { createLineSplitter, createOutputCollector } from "../../src/adapters/exec/quote.js";
import type { Executor, HostSession, RunOptions, Step, StepResult } from "../../src/ports/executor.js";
import { type RunEvent, Runner, type RunReporter } from "../../src/runbook/runner.js";

type Line = [stream: "stdout" | "stderr", line: string];

/** The collector (redaction) feeding the splitter, as the runner wires them for a step. */
function pipeline(sensitive: string[]) {
  const lines: Line[] = [];
  const splitter = createLineSplitter((line, stream) => lines.push([stream, line]));
  const collector = createOutputCollector(sensitive, (chunk, stream) => splitter.push(chunk, stream));
  return {
    lines,
    push: (stream: "stdout" | "stderr", chunk: string) => collector.push(stream, chunk),
    end() {
      const result = collector.finish();
      splitter.flush();
      return result;
    },
  };
}

describe("step output line by line", () => {
  it("gives whole lines as soon as they end, each stream on its own", () => {
    const p = pipeline([]);
    p.push("stdout", "compil");
    expect(p.lines).toEqual([]);
    p.push("stderr", "warning: old\nwarn");
    p.push("stdout", "ing\nlinking");
    expect(p.lines).toEqual([
      ["stderr", "warning: old"],
      ["stdout", "compiling"],
    ]);
    p.push("stdout", " done\r\n");
    p.end();
    expect(p.lines).toEqual([
      ["stderr", "warning: old"],
      ["stdout", "compiling"],
      ["stdout", "linking done"],
      ["stderr", "warn"],
    ]);
  });

  it("redacts a secret split across chunks and across the end of a line, as the stored output is", () => {
    const p = pipeline(["hunter2", "s3cr3t-token"]);
    p.push("stdout", "using hun");
    p.push("stdout", "ter2 for the registry\ntoken=s3cr");
    expect(p.lines).toEqual([["stdout", "using [REDACTED] for the registry"]]);
    p.push("stdout", "3t-tok");
    p.push("stdout", "en");
    const { stdout, tail } = p.end();
    expect(p.lines).toEqual([
      ["stdout", "using [REDACTED] for the registry"],
      ["stdout", "token=[REDACTED]"],
    ]);
    expect(stdout).toBe("using [REDACTED] for the registry\ntoken=[REDACTED]");
    expect(tail).toBe(p.lines.map(([, line]) => line).join("\n"));
    expect(JSON.stringify(p.lines)).not.toMatch(/hunter2|s3cr3t|hun"|s3cr"/);
  });

  it("gives an endless line in pieces instead of holding it", () => {
    const p = pipeline([]);
    p.push("stdout", "x".repeat(10_000));
    expect(p.lines.map(([, l]) => l.length)).toEqual([4096, 4096]);
    p.end();
    expect(p.lines.map(([, l]) => l.length)).toEqual([4096, 4096, 10_000 - 8192]);
  });
});

/** An executor that prints the given chunks for every step and says whether it was asked for output. */
function fakeExecutor(chunks: readonly [stream: "stdout" | "stderr", text: string][], seen: boolean[]) {
  const executor: Executor = {
    handshakes: 0,
    async open(target): Promise<HostSession> {
      return {
        target,
        async run(step: Step, options?: RunOptions): Promise<StepResult> {
          seen.push(options?.onOutput !== undefined);
          const output = createOutputCollector(step.sensitive, options?.onOutput);
          for (const [stream, text] of chunks) output.push(stream, text);
          return {
            exitCode: 0,
            timedOut: false,
            connectionLost: false,
            durationMs: 1,
            ...output.finish(),
          };
        },
        async close() {},
      };
    },
  };
  return executor;
}

describe("Runner: step-output events", () => {
  const host = {
    name: "web-1",
    address: "fake",
    port: 22,
    user: "deploy",
    path: "/srv/app",
    vars: {},
    secrets: [],
  };
  const step: Step = {
    id: "build",
    title: "make",
    argv: ["make"],
    timeoutMs: 5000,
    sensitive: ["hunter2"],
  };
  const runs = { recordStep: async () => {} };
  const describeEvent = (e: RunEvent) =>
    e.type === "step-output" ? `${e.host} ${e.stream}: ${e.line}` : e.type === "note" ? e.message : e.type;

  it("are reported between the step's start and end, redacted, when the reporter asks for them", async () => {
    const seen: boolean[] = [];
    const events: string[] = [];
    const reporter: RunReporter = Object.assign((e: RunEvent) => void events.push(describeEvent(e)), {
      output: true,
    });
    const runner = new Runner({
      executor: fakeExecutor(
        [
          ["stdout", "key=hun"],
          ["stderr", "careful\n"],
          ["stdout", "ter2\nno newline at the end"],
        ],
        seen,
      ),
      runs,
      runId: 1,
      reporter,
    });
    await runner.must(host, step);
    expect(seen).toEqual([true]);
    expect(events).toEqual([
      "step-start",
      "web-1 stderr: careful",
      "web-1 stdout: key=[REDACTED]",
      "web-1 stdout: no newline at the end",
      "step-end",
    ]);
  });

  it("are not asked of the executor without `output`", async () => {
    const seen: boolean[] = [];
    const events: string[] = [];
    const runner = new Runner({
      executor: fakeExecutor([["stdout", "hello\n"]], seen),
      runs,
      runId: 1,
      reporter: (e) => void events.push(describeEvent(e)),
    });
    await runner.must(host, step);
    expect(seen).toEqual([false]);
    expect(events).toEqual(["step-start", "step-end"]);
  });
});
