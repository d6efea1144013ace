import { execFileSync } from "node:child_process";
import { join } from "node:path";

const ACTION_DIR = join(import.meta.dirname, "..", "..");

/**
 * Packs the action as it is published (scripts/pack.mjs: action.yml, README.md, the one bundled
 * dist/main.js) into `dir` and returns its path: tests run what users run, and each test file has
 * its own copy, so parallel test files never rebuild a bundle another one is running.
 */
export function packAction(dir: string): string {
  const out = join(dir, "release-action");
  execFileSync(process.execPath, [join(ACTION_DIR, "scripts", "pack.mjs"), out], { stdio: "pipe" });
  return out;
}
