import type { RunStore } from "../adapters/postgres/run-store.js";
import type { Release } from "../domain/release.js";
import { type DeployLock, describeLock, lockAlive, type Run } from "../domain/run.js";

export interface RunState {
  readonly run: Run;
  /** in_progress: its holder lives; interrupted: it stopped without finishing; ended: it finished. */
  readonly state: "in_progress" | "interrupted" | "ended";
  readonly lock: DeployLock | undefined;
  /** One line: what it is, and for an interrupted run what to do. */
  readonly line: string;
  /** For an interrupted run: the commands that go on from it. */
  readonly next?: string;
}

/** What to run after an interrupted run: resume or roll back a deploy, roll back anything else. */
export function nextAfterInterrupted(run: Pick<Run, "kind" | "service" | "tag" | "environment">): string {
  return run.kind === "deploy"
    ? `resume it: relctl deploy ${run.service} ${run.tag} --env ${run.environment}, or roll it back: relctl abort ${run.service} --env ${run.environment}`
    : `roll it back: relctl abort ${run.service} --env ${run.environment}`;
}

/**
 * The latest run of a release and whether it still lives: a run still `running` whose lock is gone
 * or whose holder stopped beating was interrupted (killed, machine gone) and says how to go on.
 */
export async function readRunState(
  runs: Pick<RunStore, "latestRunOf" | "getLock">,
  release: Release,
  now = new Date(),
): Promise<RunState | undefined> {
  const run = await runs.latestRunOf(release.id);
  if (!run) return undefined;
  const lock = await runs.getLock(run.service, run.environment);
  const held = lock !== undefined && lock.runId === run.id && lockAlive(lock, now);
  const what = `run ${run.id} (${run.kind} ${run.tag} to ${run.environment})`;
  if (run.status !== "running")
    return {
      run,
      state: run.status === "interrupted" ? "interrupted" : "ended",
      lock,
      ...(run.status === "interrupted" ? { next: nextAfterInterrupted(run) } : {}),
      line: `${what}: ${run.status}${run.error ? ` — ${run.error}` : ""}`,
    };
  if (held)
    return {
      run,
      state: "in_progress",
      lock,
      line: `${what}: in progress, held by ${describeLock(lock!, now)}`,
    };
  const next = nextAfterInterrupted(run);
  return {
    run,
    state: "interrupted",
    lock,
    next,
    line: `${what}: interrupted — its holder stopped without finishing${lock ? ` (${describeLock(lock, now)})` : ""}; ${next}`,
  };
}
