import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createLocalExecutor,
  newTraceRef,
  type RunEvent,
  Runner,
  RunStore,
  traceparentOf,
} from "../../src/index.js";

describe("runner", () => {
  let t: TestDatabase;
  let runs: RunStore;
  beforeAll(async () => {
    t = await createPostgresTestDatabase("relctl_runner");
    runs = new RunStore(t.db.sql);
  });
  afterAll(async () => t?.drop());

  const host = {
    name: "local-1",
    address: "local",
    port: 22,
    user: "root",
    path: "/tmp",
    vars: {},
    secrets: [],
  };

  it("carries the operation's trace id to the command, records each step redacted, reports in order", async () => {
    const run = await runs.createRun({
      kind: "deploy",
      service: "svc",
      environment: "stage",
      releaseId: null,
      tag: "v1",
      fromTag: null,
      actor: { user: "ci", channel: "cli" },
    });
    const trace = newTraceRef();
    const events: string[] = [];
    const runner = new Runner({
      executor: createLocalExecutor(),
      runs,
      runId: run.id,
      trace,
      reporter: async (e: RunEvent) => {
        await new Promise((r) => setTimeout(r, 5)); // the run waits for the reporter
        events.push(e.type === "note" ? `note:${e.message}` : `${e.type}:${e.step.id}`);
      },
    });
    const result = await runner.must(host, {
      id: "show",
      title: "show the trace",
      argv: ["sh", "-c", 'echo "$RELCTL_TRACE_ID $TRACEPARENT token=$1"', "sh", "hunter2"],
      timeoutMs: 5000,
      sensitive: ["hunter2"],
    });
    expect(result.stdout.trim()).toBe(`${trace.traceId} ${traceparentOf(trace)} token=[REDACTED]`);
    await expect(
      runner.must(host, {
        id: "fail",
        title: "fail",
        argv: ["sh", "-c", "echo boom >&2; exit 3"],
        timeoutMs: 5000,
      }),
    ).rejects.toThrow("local-1: fail (fail) failed: it exited with 3 — boom");
    await runner.close();
    expect(events).toEqual(["step-start:show", "step-end:show", "step-start:fail", "step-end:fail"]);
    const steps = await runs.listSteps(run.id);
    expect(steps.map((s) => [s.step, s.ok, s.exitCode])).toEqual([
      ["show", true, 0],
      ["fail", false, 3],
    ]);
    expect(steps[0]!.argv).toEqual([
      "sh",
      "-c",
      'echo "$RELCTL_TRACE_ID $TRACEPARENT token=$1"',
      "sh",
      "[REDACTED]",
    ]);
    expect(JSON.stringify(steps)).not.toContain("hunter2");
  });
});
