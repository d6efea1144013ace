import type { ReleaseStore } from "../adapters/postgres/release-store.js";
import type { RunStore } from "../adapters/postgres/run-store.js";
import type { Release } from "../domain/release.js";
import type { Run, StepRecord } from "../domain/run.js";
import { type StatusGroup, statusesIn } from "../domain/statuses.js";
import { UsageError } from "../errors.js";

/** One page of releases, newest first, and how many match in all. */
export interface ReleasePage {
  readonly releases: readonly Release[];
  readonly total: number;
}

export interface ReleaseFilter {
  readonly service?: string;
  readonly group?: StatusGroup;
  readonly limit: number;
}

/** The newest `limit` releases that match, and how many match in all. */
export async function readReleasePage(
  store: Pick<ReleaseStore, "listReleases" | "sql">,
  filter: ReleaseFilter,
): Promise<ReleasePage> {
  const statuses = filter.group ? statusesIn(filter.group) : null;
  const sql = store.sql;
  const [releases, [row]] = await Promise.all([
    store.listReleases(filter),
    sql`
      SELECT count(*)::int AS total FROM releases
      WHERE (${filter.service ?? null}::text IS NULL OR service_name = ${filter.service ?? null})
        ${statuses ? sql`AND status::text IN ${sql(statuses as string[])}` : sql``}`,
  ]);
  return { releases, total: Number(row?.total ?? 0) };
}

/** How far back `relctl runs <release-id>` looks among the service's runs. */
const RELEASE_RUNS_WINDOW = 1000;

/** The runs of a release (by id) or of a service, newest first. */
export async function readRunHistory(
  deps: { runs: Pick<RunStore, "listRuns">; releases: Pick<ReleaseStore, "requireRelease"> },
  target: { releaseId: number } | { service: string; environment?: string },
  limit: number,
): Promise<{ release?: Release; runs: readonly Run[] }> {
  if ("releaseId" in target) {
    const release = await deps.releases.requireRelease(target.releaseId);
    const runs = await deps.runs.listRuns({ service: release.service, limit: RELEASE_RUNS_WINDOW });
    return { release, runs: runs.filter((r) => r.releaseId === release.id).slice(0, limit) };
  }
  const runs = await deps.runs.listRuns({
    service: target.service,
    ...(target.environment ? { environment: target.environment } : {}),
    limit,
  });
  return { runs };
}

/** A run and every step it recorded, in the order they ran. */
export async function readRunLog(
  runs: Pick<RunStore, "getRun" | "listSteps">,
  runId: number,
): Promise<{ run: Run; steps: readonly StepRecord[] }> {
  const run = await runs.getRun(runId);
  if (!run) {
    throw new UsageError("run_not_found", `run-id: run ${runId} does not exist`, {
      hint: "relctl runs <release-id|service> lists runs",
    });
  }
  return { run, steps: await runs.listSteps(runId) };
}
