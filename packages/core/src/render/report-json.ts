import type { EffectivenessReport, ReportFigures } from "../adapters/postgres/report-reads.js";

/** One span's figures as `relctl report --json` and `GET /report?format=json` give them. */
export function reportFiguresJson(r: ReportFigures) {
  return {
    deploys: {
      count: r.deploys.count,
      mean_seconds: r.deploys.meanSeconds,
      median_seconds: r.deploys.medianSeconds,
    },
    releases: {
      finished: r.releases.finished,
      successful: r.releases.successful,
      success_rate: r.releases.successRate,
    },
    recoveries: { count: r.recoveries.count, mttr_seconds: r.recoveries.mttrSeconds },
    incidents: r.incidents,
    incidents_per_30_days: r.incidentsPer30Days,
    people_per_release: r.peoplePerRelease,
    dora: {
      deployments_per_day: r.dora.deploymentsPerDay,
      lead_time_seconds: r.dora.leadTimeSeconds,
      changes: r.dora.changes,
      failed_changes: r.dora.failedChanges,
      change_failure_rate: r.dora.changeFailureRate,
      time_to_restore_seconds: r.dora.timeToRestoreSeconds,
    },
  };
}

/** The whole report as JSON: the figures of the period, then per service and per interval. */
export function reportJson(r: EffectivenessReport) {
  return {
    service: r.service,
    since: r.since.toISOString(),
    until: r.until.toISOString(),
    interval: r.interval,
    ...reportFiguresJson(r),
    services: r.services.map((s) => ({ service: s.service, ...reportFiguresJson(s) })),
    periods: r.periods.map((p) => ({
      start: p.start.toISOString(),
      end: p.end.toISOString(),
      ...reportFiguresJson(p),
    })),
  };
}

export type ReportJson = ReturnType<typeof reportJson>;
