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
