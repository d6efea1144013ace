import { PassThrough } from "node:stream";
import { expect, it } from "vitest";
import { createProgress } from "../src/progress.js";

it("prints a line when a step starts and when it ends when there is no terminal", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => (text += d));
  const progress = createProgress("plain", out as unknown as NodeJS.WriteStream);
  const step = { id: "build", title: "build v2", argv: ["make"], timeoutMs: 1000 };
  progress({ type: "step-start", host: "prod-1", step } as never);
  expect(text).toBe("→ prod-1  build v2\n");
  progress({
    type: "step-end",
    host: "prod-1",
    step,
    ok: true,
    result: { exitCode: 0, timedOut: false, connectionLost: false, durationMs: 1500, tail: "", stdout: "" },
  } as never);
  expect(text).toBe("→ prod-1  build v2\n✓ prod-1  build v2  1.5s\n");
});

it("an analysis says what it measured, passed or not", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => (text += d));
  const progress = createProgress("plain", out as unknown as NodeJS.WriteStream);
  const step = { id: "analysis", title: "max(errors) ≤ 0.1", argv: [], timeoutMs: 1000 };
  const end = (ok: boolean, tail: string) =>
    progress({
      type: "step-end",
      host: "prod-1",
      step,
      ok,
      result: {
        exitCode: ok ? 0 : 1,
        timedOut: false,
        connectionLost: false,
        durationMs: 20,
        tail,
        stdout: tail,
      },
    } as never);
  end(true, "0.01 ≤ 0.1");
  end(false, "0.9 above max 0.1 (values: 0.9)");
  expect(text).toBe(
    "✓ prod-1  max(errors) ≤ 0.1  20ms  — 0.01 ≤ 0.1\n✗ prod-1  max(errors) ≤ 0.1  20ms (exit 1)\n    │ prod-1 0.9 above max 0.1 (values: 0.9)\n",
  );
});

it("--verbose shows each line a step prints, host first, control characters escaped; its tail is not repeated", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => (text += d));
  expect(createProgress("plain", out as unknown as NodeJS.WriteStream).output).toBe(false);
  const progress = createProgress("plain", out as unknown as NodeJS.WriteStream, { verbose: true });
  expect(progress.output).toBe(true);
  const step = { id: "build", title: "make", argv: ["make"], timeoutMs: 1000 };
  progress({ type: "step-start", host: "web-1", step });
  progress({ type: "step-output", host: "web-1", step, stream: "stdout", line: "token=[REDACTED]" });
  progress({ type: "step-output", host: "web-1", step, stream: "stderr", line: "\u001b[31merror\u001b[0m" });
  progress({
    type: "step-end",
    host: "web-1",
    step,
    ok: false,
    result: {
      exitCode: 2,
      timedOut: false,
      connectionLost: false,
      durationMs: 20,
      tail: "token=[REDACTED]\nerror",
      stdout: "",
    },
  });
  expect(text).toBe(
    [
      "→ web-1  make",
      "    │ web-1 token=[REDACTED]",
      "    │ web-1 \\u001b[31merror\\u001b[0m",
      "✗ web-1  make  20ms (exit 2)",
      "",
    ].join("\n"),
  );
});

it("--verbose with --json: each line a JSON line naming host, step and stream", () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (d) => (text += d));
  const progress = createProgress("json", out as unknown as NodeJS.WriteStream, { verbose: true });
  const step = { id: "build", title: "make", argv: ["make"], timeoutMs: 1000 };
  progress({ type: "step-output", host: "web-1", step, stream: "stderr", line: "bell\u0007" });
  expect(JSON.parse(text)).toEqual({
    at: expect.any(String),
    event: "step-output",
    host: "web-1",
    step: "build",
    stream: "stderr",
    line: "bell\\u0007",
  });
});
