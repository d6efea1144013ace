import type { Sql } from "postgres";

/** The length of each period of a report's series. */
export type ReportInterval = "day" | "week" | "month";
export const REPORT_INTERVALS: readonly ReportInterval[] = ["day", "week", "month"];
const INTERVAL_MS: Record<ReportInterval, number> = {
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
};

/** The seed's figures and DORA's four keys over one span of time (the whole report, a service, a period). */
export interface ReportFigures {
  /** Production deploys that went live: how many, and their mean and median duration. */
  readonly deploys: {
    readonly count: number;
    readonly meanSeconds: number | null;
    readonly medianSeconds: number | null;
  };
  /** Releases created in the span that ended in production: the share that stayed deployed. */
  readonly releases: {
    readonly finished: number;
    readonly successful: number;
    readonly successRate: number | null;
  };
  /** Recoveries (automatic and manual rollbacks that ended healthy): how many, and their mean duration. */
  readonly recoveries: { readonly count: number; readonly mttrSeconds: number | null };
  /** Production incidents (failed deploys and manual rollbacks): how many, and per 30 days. */
  readonly incidents: number;
  readonly incidentsPer30Days: number;
  /** Distinct people per release who acted on it (approvals, status changes), on average. */
  readonly peoplePerRelease: number | null;
  /** DORA's four keys. */
  readonly dora: {
    /** Production deploys that went live, per day. */
    readonly deploymentsPerDay: number;
    /** Median time from a release's creation to the end of its first production deploy. */
    readonly leadTimeSeconds: number | null;
    /** Production deploy runs that ended, and those among them that failed, rolled back or were rolled back by hand. */
    readonly changes: number;
    readonly failedChanges: number;
    readonly changeFailureRate: number | null;
    /**
     * Median time to restore: an automatic rollback's deploy run from start to end; a rollback by
     * hand from the end of the deploy it undid to its own end.
     */
    readonly timeToRestoreSeconds: number | null;
  };
}

/** The figures the seed promises teams can report, and DORA's keys: in all, per service, per period. */
export interface EffectivenessReport extends ReportFigures {
  readonly since: Date;
  readonly until: Date;
  readonly service: string | null;
  readonly interval: ReportInterval;
  /** Each service with a production run or a release in the span, by name. */
  readonly services: readonly (ReportFigures & { readonly service: string })[];
  /** Consecutive periods of `interval` from `since` (the last one ends at `until`). */
  readonly periods: readonly (ReportFigures & { readonly start: Date; readonly end: Date })[];
}

/** One production run (a run in a gated environment) that ended. */
interface RunRow {
  readonly id: number;
  readonly kind: "deploy" | "rollback";
  readonly service: string;
  readonly status: string;
  readonly startedAt: number;
  readonly seconds: number;
  /** A rollback by hand: the deploy run that put the tag it replaced live, and when that one ended. */
  readonly undoesRun: number | null;
  readonly undoneSince: number | null;
}

interface ReleaseRow {
  readonly service: string;
  readonly status: string;
  readonly createdAt: number;
  /** The end of its first production deploy that went live. */
  readonly liveAt: number | null;
  readonly people: number;
}

const FINISHED = new Set(["deployed", "production_failed", "rollback_done", "rollback_failed"]);
const round = (v: number, places: number) => Math.round(v * 10 ** places) / 10 ** places;
const mean = (xs: readonly number[]) =>
  xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 1) : null;
/** The median as Postgres' percentile_cont(0.5) gives it (the mean of the two middle values). */
function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return round(s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2, 1);
}

/** The figures of the runs and releases that fall in a span `days` long. */
function figuresOf(
  runs: readonly RunRow[],
  releases: readonly ReleaseRow[],
  leadTimes: readonly number[],
  days: number,
): ReportFigures {
  const live = runs.filter((r) => r.kind === "deploy" && r.status === "succeeded");
  const deploys = runs.filter((r) => r.kind === "deploy");
  const rollbacks = runs.filter((r) => r.kind === "rollback");
  const undone = new Set(rollbacks.map((r) => r.undoesRun).filter((id) => id !== null));
  const failed = deploys.filter((r) => r.status !== "succeeded" || undone.has(r.id));
  const automatic = deploys.filter((r) => r.status === "rolled_back");
  const byHand = rollbacks.filter((r) => r.status === "succeeded");
  const recoveries = [...automatic, ...byHand].map((r) => r.seconds);
  const restores = [
    ...automatic.map((r) => r.seconds),
    ...byHand.map((r) =>
      r.undoneSince === null ? r.seconds : (r.startedAt - r.undoneSince) / 1000 + r.seconds,
    ),
  ];
  const incidents =
    deploys.filter((r) => r.status !== "succeeded" && r.status !== "running").length + rollbacks.length;
  const finished = releases.filter((r) => FINISHED.has(r.status));
  const successful = finished.filter((r) => r.status === "deployed").length;
  const acted = releases.filter((r) => r.people > 0).map((r) => r.people);
  const span = Math.max(days, 1 / 24);
  return {
    deploys: {
      count: live.length,
      meanSeconds: mean(live.map((r) => r.seconds)),
      medianSeconds: median(live.map((r) => r.seconds)),
    },
    releases: {
      finished: finished.length,
      successful,
      successRate: finished.length ? round(successful / finished.length, 3) : null,
    },
    recoveries: { count: recoveries.length, mttrSeconds: mean(recoveries) },
    incidents,
    incidentsPer30Days: round((incidents / Math.max(1, days)) * 30, 1),
    peoplePerRelease: mean(acted),
    dora: {
      deploymentsPerDay: round(live.length / span, 2),
      leadTimeSeconds: median(leadTimes),
      changes: deploys.length,
      failedChanges: failed.length,
      changeFailureRate: deploys.length ? round(failed.length / deploys.length, 3) : null,
      timeToRestoreSeconds: median(restores),
    },
  };
}

/**
 * Reads the report from runs, releases and the audit log, in one read-only transaction, and
 * computes every figure here (in all, per service, per period) so the CLI, its HTML page and
 * `GET /report` show the same numbers. Production: the runs in gated environments. A run counts
 * in the period it started in; a release's success in the one it was created in, its lead time in
 * the one it went live in.
 */
export async function readEffectivenessReport(
  sql: Sql,
  options: {
    since: Date;
    service?: string | undefined;
    /** Only these services (a caller allowed some); undefined: every one. */
    services?: readonly string[] | undefined;
    now?: Date;
    interval?: ReportInterval | undefined;
  },
): Promise<EffectivenessReport> {
  const since = options.since;
  const until = options.now ?? new Date();
  const service = options.service ?? null;
  const only = service !== null ? [service] : options.services ? [...options.services] : null;
  const days = (until.getTime() - since.getTime()) / 86_400_000;
  const interval = options.interval ?? (days <= 45 ? "day" : days <= 182 ? "week" : "month");
  const [runRows, releaseRows] = await sql.begin("read only", (tx) => [
    tx`SELECT r.id, r.kind, r.service_name, r.status, r.started_at,
              extract(epoch FROM r.finished_at - r.started_at)::float8 AS seconds,
              undone.id AS undoes_run, undone.finished_at AS undone_since
       FROM runs r
       LEFT JOIN LATERAL (
         SELECT d.id, d.finished_at FROM runs d
         WHERE r.kind = 'rollback' AND d.kind = 'deploy' AND d.gated AND d.status = 'succeeded'
           AND d.service_name = r.service_name AND d.environment = r.environment
           AND d.tag = r.from_tag AND d.finished_at <= r.started_at
         ORDER BY d.finished_at DESC LIMIT 1) undone ON true
       WHERE r.gated AND r.kind IN ('deploy', 'rollback') AND r.status <> 'running'
         AND r.finished_at IS NOT NULL
         AND r.started_at >= ${since} AND r.started_at <= ${until}
         AND (${only === null} OR r.service_name = ANY(${only ?? []}::text[]))
       ORDER BY r.started_at, r.id`,
    tx`SELECT r.service_name, r.status::text AS status, r.created_at,
              (SELECT min(d.finished_at) FROM runs d
               WHERE d.release_id = r.id AND d.kind = 'deploy' AND d.gated AND d.status = 'succeeded') AS live_at,
              (SELECT count(DISTINCT a.actor)::int FROM audit_events a WHERE a.release_id = r.id) AS people
       FROM releases r
       WHERE (r.created_at >= ${since} AND r.created_at <= ${until}
              OR EXISTS (SELECT 1 FROM runs d WHERE d.release_id = r.id AND d.kind = 'deploy' AND d.gated
                         AND d.status = 'succeeded' AND d.finished_at >= ${since} AND d.finished_at <= ${until}))
         AND (${only === null} OR r.service_name = ANY(${only ?? []}::text[]))`,
  ]);
  const time = (v: unknown) =>
    v === null || v === undefined ? null : new Date(v as string | Date).getTime();
  const runs: RunRow[] = runRows.map((r) => ({
    id: Number(r.id),
    kind: r.kind as "deploy" | "rollback",
    service: r.service_name as string,
    status: r.status as string,
    startedAt: time(r.started_at)!,
    seconds: Math.max(0, Number(r.seconds)),
    undoesRun: r.undoes_run === null ? null : Number(r.undoes_run),
    undoneSince: time(r.undone_since),
  }));
  const allReleases = releaseRows.map((r) => ({
    service: r.service_name as string,
    status: r.status as string,
    createdAt: time(r.created_at)!,
    liveAt: time(r.live_at),
    people: Number(r.people),
  }));

  const from = since.getTime();
  const to = until.getTime();
  const within = (t: number | null, a: number, b: number, last: boolean) =>
    t !== null && t >= a && (t < b || (last && t <= b));
  /** The releases of a span: created in it, with a lead time only when they went live in it. */
  const releasesIn = (rows: readonly ReleaseRow[], a: number, b: number, last: boolean) => ({
    created: rows.filter((r) => within(r.createdAt, a, b, last)),
    live: rows.filter((r) => within(r.liveAt, a, b, last)),
  });
  const figures = (
    rs: readonly RunRow[],
    rows: readonly ReleaseRow[],
    a: number,
    b: number,
    last: boolean,
  ) => {
    const { created, live } = releasesIn(rows, a, b, last);
    const leadTimes = live.map((r) => (r.liveAt! - r.createdAt) / 1000);
    return figuresOf(rs, created, leadTimes, (b - a) / 86_400_000);
  };

  const names = [
    ...new Set([
      ...runs.map((r) => r.service),
      ...allReleases.filter((r) => within(r.createdAt, from, to, true)).map((r) => r.service),
    ]),
  ].sort();
  const step = INTERVAL_MS[interval];
  const periods: (ReportFigures & { start: Date; end: Date })[] = [];
  for (let a = from; a < to; a += step) {
    const b = Math.min(a + step, to);
    const last = b === to;
    periods.push({
      start: new Date(a),
      end: new Date(b),
      ...figures(
        runs.filter((r) => within(r.startedAt, a, b, last)),
        allReleases,
        a,
        b,
        last,
      ),
    });
  }
  return {
    since,
    until,
    service,
    interval,
    ...figures(runs, allReleases, from, to, true),
    services: names.map((name) => ({
      service: name,
      ...figures(
        runs.filter((r) => r.service === name),
        allReleases.filter((r) => r.service === name),
        from,
        to,
        true,
      ),
    })),
    periods,
  };
}
