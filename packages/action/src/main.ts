// The action's main step: the one file that reads the process environment. action.yml runs it as
// `main: dist/main.js` (runs.using: node24); the build bundles it into that single file, which
// runs on Node 20.18 and newer.
import { readFileSync } from "node:fs";
import { Interruption } from "@relctl/core";
import { MAIN_FINISHED_STATE } from "./post-step.js";
import { runAction } from "./run-action.js";
import { createRunnerIo } from "./runner-io.js";

function readEvent(path: string | undefined): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

// A cancelled job: GitHub sends SIGINT, then SIGTERM, then kills. The first ends the running step
// on its host and lets the run compensate as its plan says; a second starts nothing more.
const interruption = new Interruption();
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    interruption.interrupt(signal);
    process.stdout.write(
      interruption.stopped
        ? `relctl: ${signal} again: stopping now, starting nothing more\n`
        : `relctl: ${signal}: ending the running step, then finishing as the plan says\n`,
    );
  });
}

const io = createRunnerIo();
process.exitCode = await runAction({
  interruption,
  env: process.env,
  cwd: process.cwd(),
  eventJson: readEvent(process.env.GITHUB_EVENT_PATH),
  io,
});
// The post step (dist/post.js) tells a step that ended by itself from one that was killed.
io.saveState?.(MAIN_FINISHED_STATE, String(process.exitCode));
