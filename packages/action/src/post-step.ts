import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import type { ActionIo } from "./runner-io.js";

/** State the main step keeps for the post step (`core.saveState`; the runner gives it back as STATE_<name>). */
export const KEY_DIRS_STATE = "ssh-key-dirs";
/** Saved by the main step when it ends by itself, with its exit code; absent when it was killed. */
export const MAIN_FINISHED_STATE = "main-finished";

export interface PostStepOptions {
  /** The post step's environment: the step's inputs again, and STATE_* from the main step. */
  readonly env: NodeJS.ProcessEnv;
  readonly io: Pick<ActionIo, "info" | "warning" | "error">;
}

/**
 * The action's post step (action.yml `post:`, run with `post-if: always()`, after a failed or
 * cancelled main step too): removes the folders of the SSH keys the main step wrote, which the main
 * step removes itself unless it was killed. Only folders the main step named, `relctl-*` directly
 * in the runner's temporary folder, are removed; without a key (a step that failed on its inputs,
 * or ran without `ssh-private-key`) it does nothing. Exit code 1 when a key could not be removed.
 */
export function runPostStep({ env, io }: PostStepOptions): number {
  const finished = env[`STATE_${MAIN_FINISHED_STATE}`];
  const temp = resolve(env.RUNNER_TEMP || tmpdir());
  let code = 0;
  let removed = 0;
  for (const dir of keyDirsOf(env[`STATE_${KEY_DIRS_STATE}`])) {
    if (!isAbsolute(dir) || resolve(dirname(dir)) !== temp || !basename(dir).startsWith("relctl-")) {
      io.warning(`post: not removing ${dir}: not a relctl key folder in RUNNER_TEMP`);
      continue;
    }
    try {
      rmSync(dir, { recursive: true, force: true });
      removed++;
    } catch (err) {
      io.error(`post: could not remove the SSH key in ${dir}: ${(err as Error).message}`);
      code = 1;
    }
  }
  if (finished === undefined && removed > 0) {
    io.warning(
      "the relctl step did not finish (the job was cancelled or the step was killed); its SSH key is removed. Check the release with the `status` command before running it again",
    );
  }
  if (removed > 0)
    io.info(`relctl post: removed the SSH key the step wrote (${removed} folder${removed === 1 ? "" : "s"})`);
  return code;
}

function keyDirsOf(state: string | undefined): string[] {
  if (!state) return [];
  try {
    const value = JSON.parse(state) as unknown;
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  } catch {
    return [];
  }
}
