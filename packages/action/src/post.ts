// The action's post step: action.yml runs it as `post: dist/post.js` (`post-if: always()`), after
// the main step and the job's other steps, even when they failed or the job was cancelled.
import { runPostStep } from "./post-step.js";
import { createRunnerIo } from "./runner-io.js";

process.exitCode = runPostStep({ env: process.env, io: createRunnerIo() });
