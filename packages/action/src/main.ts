// The action's entry: the one file that reads the process environment. action.yml runs it as
// `node "$GITHUB_ACTION_PATH/dist/main.js"`; the build bundles it into that single file.
import { readFileSync } from "node:fs";
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

process.exitCode = await runAction({
  env: process.env,
  cwd: process.cwd(),
  eventJson: readEvent(process.env.GITHUB_EVENT_PATH),
  io: createRunnerIo(),
});
