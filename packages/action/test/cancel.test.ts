import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Interruption } from "@relctl/core";
import { createMiniService, type MiniService, processesUnder } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runAction } from "../src/run-action.js";
import type { ActionIo } from "../src/runner-io.js";

/**
 * A cancelled job: the runner sends SIGINT. The action ends the running step on its host, rolls
 * back as the plan says, and its job summary and exit code say it was interrupted.
 */
let svc: MiniService;
const marker = `5.${String(process.pid).slice(-5)}1`;
beforeAll(async () => {
  svc = await createMiniService({
    service: "cancelled",
    tags: [
      { tag: "v1", schema: 1 },
      { tag: "v2", schema: 2, migrateSleep: marker },
    ],
    environments: { production: { hosts: 1, extra: "    gate: { approvals: false }" } },
  });
}, 60_000);
afterAll(async () => {
  await svc?.stop();
});

function job(tag: string, interruption?: Interruption) {
  const summary: string[] = [];
  const lines: string[] = [];
  const io: ActionIo = {
    info: (l) => lines.push(l),
    startGroup: (t) => lines.push(`::group::${t}`),
    endGroup: () => lines.push("::endgroup::"),
    untrusted: (t) => lines.push(t),
    warning: (m) => lines.push(`::warning::${m}`),
    error: (m) => lines.push(`::error::${m}`),
    mask: () => {},
    setOutput: () => {},
    exportVariable: () => {},
    appendSummary: async (m) => {
      summary.push(m);
    },
  };
  const env = {
    INPUT_COMMAND: "production",
    INPUT_TAG: tag,
    INPUT_CONFIG: svc.configFile,
    INPUT_DEPLOYMENTS: "false",
    GITHUB_WORKSPACE: svc.dir,
    RUNNER_TEMP: mkdtempSync(join(tmpdir(), "relctl-runner-")),
  };
  const done = runAction({
    env,
    cwd: svc.dir,
    eventJson: undefined,
    io,
    ...(interruption ? { interruption } : {}),
  });
  return { done, summary, lines };
}

it("a SIGINT mid-migration ends the step on the host, rolls back, and says so in the summary (exit 130)", async () => {
  const first = job("v1");
  expect(await first.done, first.lines.join("\n")).toBe(0);

  const interruption = new Interruption();
  const second = job("v2", interruption);
  let migrating = false;
  for (let i = 0; i < 400 && !migrating; i++) {
    migrating = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" }).includes(`sleep ${marker}`);
    if (!migrating) await new Promise((r) => setTimeout(r, 25));
  }
  expect(migrating).toBe(true);
  interruption.interrupt("SIGINT");
  expect(await second.done).toBe(130);
  expect(second.summary.join("\n")).toMatch(/interrupted by SIGINT \(the job was cancelled\)/);
  expect(second.lines.some((l) => l.startsWith("::error::interrupted by SIGINT"))).toBe(true);
  // Nothing of the cut migration is left, and production runs what it ran before.
  expect(execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })).not.toContain(`sleep ${marker}`);
  expect(processesUnder(svc.environments.production!.hosts[0]!.path).length).toBeLessThanOrEqual(1);
  expect(await svc.liveVersions("production")).toEqual(["v1"]);
  expect(svc.schemaOf("production")).toBe(1);
}, 90_000);
