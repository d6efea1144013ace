import type { Actor, RunbookRuns } from "@relctl/core";
import type { RecordedDeployment } from "./github-deployments.js";

/** A successful switch of an environment to a tag, oldest first. */
export interface PastDeployment {
  readonly tag: string;
  readonly schemaVersion: string | null;
  readonly kind: "deploy" | "rollback";
}

/**
 * Which of GitHub's deployments say what ran where. Pure. Only successful switches count (a
 * failed deploy left the previous tag running); a tag that was later rolled back from is left out,
 * so it is never offered as a rollback target again. Input newest first; output oldest first.
 */
export function planDeploymentHistory(recorded: readonly RecordedDeployment[]): PastDeployment[] {
  const switched = recorded
    .filter((d) => d.state === "success" || d.state === "inactive")
    .sort((a, b) => a.id - b.id);
  const lastDeploy = new Map<string, number>();
  const lastRolledBackFrom = new Map<string, number>();
  switched.forEach((d, i) => {
    lastDeploy.set(d.payload.tag, i);
    if (d.payload.kind === "rollback" && d.payload.from_tag) lastRolledBackFrom.set(d.payload.from_tag, i);
  });
  const bad = (tag: string) => (lastRolledBackFrom.get(tag) ?? -1) > (lastDeploy.get(tag) ?? -1);
  const active = switched.at(-1);
  return switched
    .filter((d) => d === active || !bad(d.payload.tag))
    .map((d) => ({ tag: d.payload.tag, schemaVersion: d.payload.schema_version, kind: d.payload.kind }));
}

/** Writes the history into the job's run store, so the runbooks see what ran before this job. */
export async function importDeploymentHistory(
  runs: RunbookRuns,
  target: { service: string; environment: string },
  history: readonly PastDeployment[],
  releaseIds: ReadonlyMap<string, number>,
  actor: Actor,
): Promise<void> {
  for (const past of history) {
    const releaseId = releaseIds.get(past.tag) ?? null;
    const run = await runs.createRun({
      kind: past.kind,
      ...target,
      releaseId,
      tag: past.tag,
      fromTag: null,
      actor,
    });
    await runs.finishRun(run.id, "succeeded");
    await runs.recordDeployment({
      ...target,
      releaseId,
      tag: past.tag,
      schemaVersion: past.schemaVersion,
      runId: run.id,
      previousState: past.kind === "rollback" ? "rolled_back" : "superseded",
    });
  }
}
