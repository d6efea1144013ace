import type { Sql } from "postgres";

/** The figures the seed promises teams can report (over a period, for one service or all). */
export interface EffectivenessReport {
  readonly since: Date;
  readonly service: string | null;
  /** Production deploys that went live: how many, and their mean and median duration. */
  readonly deploys: {
    readonly count: number;
    readonly meanSeconds: number | null;
    readonly medianSeconds: number | null;
  };
  /** Releases that ended in production: the share that stayed deployed. */
  readonly releases: {
    readonly finished: number;
    readonly successful: number;
    readonly successRate: number | null;
  };
  /** Recoveries (automatic and manual rollbacks that ended healthy): how many, and their mean duration. */
  readonly recoveries: { readonly count: number; readonly mttrSeconds: number | null };
  /** Production incidents (failed deploys and manual rollbacks) per 30 days. */
  readonly incidentsPer30Days: number;
  /** Distinct people per release who acted on it (approvals, status changes), on average. */
  readonly peoplePerRelease: number | null;
}

const seconds = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

/** Reads the report from runs, releases and the audit log. Production: the runs in gated environments. */
export async function readEffectivenessReport(
  sql: Sql,
  options: { since: Date; service?: string | undefined; now?: Date },
): Promise<EffectivenessReport> {
  const service = options.service ?? null;
  const since = options.since;
  const [deploys] = await sql`
    SELECT count(*)::int AS count,
           avg(extract(epoch FROM finished_at - started_at)) AS mean,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at)) AS median
    FROM runs
    WHERE kind = 'deploy' AND gated AND status = 'succeeded' AND started_at >= ${since}
      AND (${service}::text IS NULL OR service_name = ${service})`;
  const [releases] = await sql`
    SELECT count(*) FILTER (WHERE status IN ('deployed', 'production_failed', 'rollback_done', 'rollback_failed'))::int AS finished,
           count(*) FILTER (WHERE status = 'deployed')::int AS successful
    FROM releases
    WHERE created_at >= ${since} AND (${service}::text IS NULL OR service_name = ${service})`;
  const [recoveries] = await sql`
    SELECT count(*)::int AS count, avg(extract(epoch FROM finished_at - started_at)) AS mean
    FROM runs
    WHERE gated AND started_at >= ${since}
      AND ((kind = 'deploy' AND status = 'rolled_back') OR (kind = 'rollback' AND status = 'succeeded'))
      AND (${service}::text IS NULL OR service_name = ${service})`;
  const [incidents] = await sql`
    SELECT count(*)::int AS count
    FROM runs
    WHERE gated AND started_at >= ${since}
      AND ((kind = 'deploy' AND status IN ('rolled_back', 'rollback_failed', 'failed')) OR kind = 'rollback')
      AND (${service}::text IS NULL OR service_name = ${service})`;
  const [people] = await sql`
    SELECT avg(n) AS mean FROM (
      SELECT count(DISTINCT a.actor) AS n
      FROM audit_events a JOIN releases r ON r.id = a.release_id
      WHERE r.created_at >= ${since} AND (${service}::text IS NULL OR r.service_name = ${service})
      GROUP BY a.release_id) per_release`;
  const days = Math.max(1, ((options.now ?? new Date()).getTime() - since.getTime()) / 86_400_000);
  const finished = releases!.finished as number;
  return {
    since,
    service,
    deploys: {
      count: deploys!.count as number,
      meanSeconds: seconds(deploys!.mean),
      medianSeconds: seconds(deploys!.median),
    },
    releases: {
      finished,
      successful: releases!.successful as number,
      successRate: finished ? Math.round(((releases!.successful as number) / finished) * 1000) / 1000 : null,
    },
    recoveries: { count: recoveries!.count as number, mttrSeconds: seconds(recoveries!.mean) },
    incidentsPer30Days: Math.round(((incidents!.count as number) / days) * 30 * 10) / 10,
    peoplePerRelease: people!.mean === null ? null : Math.round(Number(people!.mean) * 10) / 10,
  };
}
