import type { Sql } from "postgres";
import { RELEASE_STATUSES, type ReleaseStatus } from "../../domain/statuses.js";

/** The deploy request states a scrape reports: the open ones, and those nobody knows the end of. */
export const OPEN_DEPLOY_REQUEST_STATES = ["pending", "running", "dispatched", "unknown"] as const;
export const DEPLOY_REQUEST_KINDS = ["deploy", "rollback"] as const;

/** Upper bounds (seconds) of the deploy and rollback duration buckets. */
export const RUN_DURATION_BUCKETS = [10, 30, 60, 120, 300, 600, 1200, 1800, 3600] as const;
/** Upper bounds (seconds) of the lead time buckets: 5 min to 4 weeks. */
export const LEAD_TIME_BUCKETS = [
  300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 259_200, 604_800, 2_419_200,
] as const;

/** Finished runs counted by kind, service, environment and status. */
export interface RunCount {
  readonly kind: "deploy" | "rehearse" | "rollback";
  readonly service: string;
  readonly environment: string;
  readonly status: string;
  readonly count: number;
}

/** A cumulative histogram read from the database: `buckets[i]` counts the values <= `bounds[i]`. */
export interface DurationHistogram {
  readonly labels: Readonly<Record<string, string>>;
  readonly bounds: readonly number[];
  readonly buckets: readonly number[];
  readonly count: number;
  readonly sum: number;
}

/** What one scrape reads from the database (see readMetricsSnapshot). */
export interface MetricsSnapshot {
  readonly runs: readonly RunCount[];
  readonly approvals: readonly {
    readonly service: string;
    readonly role: string;
    readonly decision: "approve" | "reject";
    readonly count: number;
  }[];
  /** Every service that has a release, with a count for every status (zero when it has none). */
  readonly releases: readonly {
    readonly service: string;
    readonly status: ReleaseStatus;
    readonly count: number;
  }[];
  /** Every kind × open state, zero when none. */
  readonly deployRequests: readonly {
    readonly kind: string;
    readonly state: string;
    readonly count: number;
  }[];
  readonly outbox: { readonly pending: number; readonly oldestPendingAgeSeconds: number };
  /** Deploy runs that succeeded, by service and environment: started → finished. */
  readonly deployDurations: readonly DurationHistogram[];
  /** Rollback runs (by hand) that succeeded, by service and environment: started → finished. */
  readonly rollbackDurations: readonly DurationHistogram[];
  /** Releases that reached `deployed`, by service: created → first moved to deployed. */
  readonly leadTimes: readonly DurationHistogram[];
  /** Releases whose approvals are all in, by service: first manual_testing → first manual_test_passed. */
  readonly approvalWaits: readonly DurationHistogram[];
}

/**
 * The figures `GET /metrics` derives from the database, so that what a CLI run did shows as well
 * as what the service did. Six aggregate queries, pipelined in one read-only transaction (one
 * consistent view, one round trip) whose statements give up after `statementTimeoutMs`.
 *
 * Durations come back as cumulative histograms over every finished row: finished runs and the
 * audit log never change, so the counts only grow, whichever process reads them and however often.
 */
export async function readMetricsSnapshot(
  sql: Sql,
  options: { statementTimeoutMs: number },
): Promise<MetricsSnapshot> {
  const durationBounds = [...RUN_DURATION_BUCKETS];
  const leadBounds = [...LEAD_TIME_BUCKETS];
  const [, runs, approvals, releases, requests, outbox, durations] = await sql.begin("read only", (tx) => [
    tx`SELECT set_config('statement_timeout', ${String(Math.max(1, Math.round(options.statementTimeoutMs)))}, true)`,
    tx`SELECT kind, service_name, environment, status, count(*)::int AS n
         FROM runs WHERE status <> 'running'
         GROUP BY kind, service_name, environment, status`,
    tx`SELECT r.service_name, a.role, a.decision, count(*)::int AS n
         FROM approvals a JOIN releases r ON r.id = a.release_id
         GROUP BY r.service_name, a.role, a.decision`,
    tx`SELECT service_name, status::text AS status, count(*)::int AS n
         FROM releases GROUP BY service_name, status`,
    tx`SELECT kind, state, count(*)::int AS n FROM deploy_requests
         WHERE state IN ${tx(OPEN_DEPLOY_REQUEST_STATES as unknown as string[])}
         GROUP BY kind, state`,
    tx`SELECT count(*)::int AS n,
                coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest
         FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL`,
    tx`WITH d AS (
           SELECT kind AS what, service_name AS service, environment,
                  extract(epoch FROM finished_at - started_at)::float8 AS s
           FROM runs
           WHERE kind IN ('deploy', 'rollback') AND status = 'succeeded' AND finished_at IS NOT NULL
           UNION ALL
           SELECT 'lead_time', r.service_name, '', extract(epoch FROM min(a.at) - r.created_at)::float8
           FROM releases r
           JOIN audit_events a ON a.release_id = r.id AND a.action = 'release.status'
                              AND a.after->>'status' = 'deployed'
           GROUP BY r.id, r.service_name, r.created_at
           UNION ALL
           SELECT 'approval_wait', r.service_name, '',
                  extract(epoch FROM min(p.at) - min(t.at))::float8
           FROM releases r
           JOIN audit_events t ON t.release_id = r.id AND t.action = 'release.status'
                              AND t.after->>'status' = 'manual_testing'
           JOIN audit_events p ON p.release_id = r.id AND p.action = 'release.status'
                              AND p.after->>'status' = 'manual_test_passed'
           GROUP BY r.id, r.service_name
         ), b AS (
           SELECT w.what, le
           FROM (VALUES ('deploy'), ('rollback')) w(what), unnest(${durationBounds}::float8[]) le
           UNION ALL
           SELECT w.what, le
           FROM (VALUES ('lead_time'), ('approval_wait')) w(what), unnest(${leadBounds}::float8[]) le
         )
         SELECT d.what, d.service, d.environment, b.le,
                count(*) FILTER (WHERE d.s <= b.le)::int AS le_n,
                count(*)::int AS n, sum(greatest(d.s, 0))::float8 AS total
         FROM d JOIN b ON b.what = d.what
         GROUP BY d.what, d.service, d.environment, b.le
         ORDER BY d.what, d.service, d.environment, b.le`,
  ]);

  const releaseCounts = new Map<string, Map<string, number>>();
  for (const r of releases) {
    const service = r.service_name as string;
    if (!releaseCounts.has(service)) releaseCounts.set(service, new Map());
    releaseCounts.get(service)!.set(r.status as string, Number(r.n));
  }
  const requestCounts = new Map(requests.map((r) => [`${r.kind}/${r.state}`, Number(r.n)]));

  const histograms = new Map<string, { what: string; h: DurationHistogram & { buckets: number[] } }>();
  for (const r of durations) {
    const what = r.what as string;
    const byService = what === "lead_time" || what === "approval_wait";
    const labels: Record<string, string> = byService
      ? { service: r.service as string }
      : { service: r.service as string, environment: r.environment as string };
    const key = `${what}\0${r.service}\0${r.environment}`;
    let entry = histograms.get(key);
    if (!entry) {
      entry = {
        what,
        h: {
          labels,
          bounds: byService ? leadBounds : durationBounds,
          buckets: [],
          count: Number(r.n),
          sum: Number(r.total),
        },
      };
      histograms.set(key, entry);
    }
    entry.h.buckets.push(Number(r.le_n));
  }
  const histogramsOf = (what: string) =>
    [...histograms.values()].filter((e) => e.what === what).map((e) => e.h);

  return {
    runs: runs.map((r) => ({
      kind: r.kind as RunCount["kind"],
      service: r.service_name as string,
      environment: r.environment as string,
      status: r.status as string,
      count: Number(r.n),
    })),
    approvals: approvals.map((r) => ({
      service: r.service_name as string,
      role: r.role as string,
      decision: r.decision as "approve" | "reject",
      count: Number(r.n),
    })),
    releases: [...releaseCounts].flatMap(([service, counts]) =>
      RELEASE_STATUSES.map((status) => ({ service, status, count: counts.get(status) ?? 0 })),
    ),
    deployRequests: DEPLOY_REQUEST_KINDS.flatMap((kind) =>
      OPEN_DEPLOY_REQUEST_STATES.map((state) => ({
        kind,
        state,
        count: requestCounts.get(`${kind}/${state}`) ?? 0,
      })),
    ),
    outbox: { pending: Number(outbox[0]?.n ?? 0), oldestPendingAgeSeconds: Number(outbox[0]?.oldest ?? 0) },
    deployDurations: histogramsOf("deploy"),
    rollbackDurations: histogramsOf("rollback"),
    leadTimes: histogramsOf("lead_time"),
    approvalWaits: histogramsOf("approval_wait"),
  };
}
