import {
  type DurationHistogram,
  type MetricsSnapshot,
  type RunCount,
  readMetricsSnapshot,
} from "@relctl/core";
import type { Sql } from "postgres";
import { withTimeout } from "./http/ops-routes.js";
import type { Metrics, Sample } from "./metrics.js";

/** A histogram read from the database as Prometheus samples (_bucket with le, +Inf, _sum, _count). */
function histogramSamples(histograms: readonly DurationHistogram[]): Sample[] {
  return histograms.flatMap((h) => [
    ...h.bounds.map((le, i) => ({
      labels: { ...h.labels, le: String(le) },
      value: h.buckets[i] ?? 0,
      suffix: "_bucket" as const,
    })),
    { labels: { ...h.labels, le: "+Inf" }, value: h.count, suffix: "_bucket" as const },
    { labels: h.labels, value: h.sum, suffix: "_sum" as const },
    { labels: h.labels, value: h.count, suffix: "_count" as const },
  ]);
}

/** Finished runs of one kind as samples by service, environment and outcome (the run's status). */
function runsByOutcome(s: MetricsSnapshot, kind: RunCount["kind"]): Sample[] {
  return s.runs
    .filter((r) => r.kind === kind)
    .map((r) => ({
      labels: { service: r.service, environment: r.environment, outcome: r.status },
      value: r.count,
    }));
}

/**
 * The metrics derived from the database at scrape time: what the CLI did shows as well as what
 * this service did, and every replica reports the same. Each scrape reads one snapshot (see
 * readMetricsSnapshot), given the scrape's budget both in PostgreSQL (statement_timeout) and
 * here; concurrent scrapes share a read in flight. A scrape whose read fails or runs out of time
 * answers without these families and with `relctl_metrics_db_up 0`.
 */
export function registerDatabaseMetrics(metrics: Metrics, sql: Sql): void {
  let snapshot: MetricsSnapshot | null = null;
  let inFlight: Promise<MetricsSnapshot> | null = null;

  metrics.onScrape(async (timeoutMs) => {
    if (!inFlight) {
      inFlight = readMetricsSnapshot(sql, { statementTimeoutMs: timeoutMs });
      const clear = () => {
        inFlight = null;
      };
      inFlight.then(clear, clear);
    }
    try {
      snapshot = await withTimeout(inFlight, timeoutMs);
    } catch {
      snapshot = null;
    }
  });

  const from = (read: (s: MetricsSnapshot) => Sample[]) => () => (snapshot ? read(snapshot) : []);

  metrics.family(
    "relctl_metrics_db_up",
    "Whether this scrape could read the database figures (1) or not (0: they are left out).",
    "gauge",
    () => [{ labels: {}, value: snapshot ? 1 : 0 }],
  );
  metrics.family(
    "relctl_deploys_total",
    "Finished deploy runs, by service, environment and outcome (the run's status).",
    "counter",
    from((s) => runsByOutcome(s, "deploy")),
  );
  metrics.family(
    "relctl_rollbacks_total",
    "Rollbacks, by service, environment, trigger (automatic: a deploy run that rolled back; manual: a rollback run) and outcome.",
    "counter",
    from((s) =>
      s.runs.flatMap((r) => {
        const where = { service: r.service, environment: r.environment };
        if (r.kind === "rollback")
          return [{ labels: { ...where, trigger: "manual", outcome: r.status }, value: r.count }];
        if (r.kind === "deploy" && (r.status === "rolled_back" || r.status === "rollback_failed")) {
          const outcome = r.status === "rolled_back" ? "succeeded" : "failed";
          return [{ labels: { ...where, trigger: "automatic", outcome }, value: r.count }];
        }
        return [];
      }),
    ),
  );
  metrics.family(
    "relctl_rehearsals_total",
    "Finished rehearsal runs, by service, environment and outcome.",
    "counter",
    from((s) => runsByOutcome(s, "rehearse")),
  );
  metrics.family(
    "relctl_approvals_total",
    "Approval decisions recorded, by service, role and decision (approve, reject).",
    "counter",
    from((s) =>
      s.approvals.map((a) => ({
        labels: { service: a.service, role: a.role, decision: a.decision },
        value: a.count,
      })),
    ),
  );
  metrics.family(
    "relctl_releases",
    "Releases by service and status (every status, zero when none).",
    "gauge",
    from((s) =>
      s.releases.map((r) => ({ labels: { service: r.service, status: r.status }, value: r.count })),
    ),
  );
  metrics.family(
    "relctl_deploy_requests",
    "Deploy and rollback requests by kind and open state (pending, running, dispatched, unknown).",
    "gauge",
    from((s) => s.deployRequests.map((r) => ({ labels: { kind: r.kind, state: r.state }, value: r.count }))),
  );
  metrics.family(
    "relctl_outbox_pending",
    "Chat messages waiting to be delivered.",
    "gauge",
    from((s) => [{ labels: {}, value: s.outbox.pending }]),
  );
  metrics.family(
    "relctl_outbox_oldest_pending_age_seconds",
    "Age of the oldest chat message not yet delivered (0 when none waits).",
    "gauge",
    from((s) => [{ labels: {}, value: s.outbox.oldestPendingAgeSeconds }]),
  );
  metrics.family(
    "relctl_deploy_duration_seconds",
    "Duration of the deploy runs that succeeded, by service and environment.",
    "histogram",
    from((s) => histogramSamples(s.deployDurations)),
  );
  metrics.family(
    "relctl_rollback_duration_seconds",
    "Duration of the rollback runs (by hand) that succeeded, by service and environment.",
    "histogram",
    from((s) => histogramSamples(s.rollbackDurations)),
  );
  metrics.family(
    "relctl_lead_time_seconds",
    "Lead time of the releases that reached deployed, by service: created to first deployed.",
    "histogram",
    from((s) => histogramSamples(s.leadTimes)),
  );
  metrics.family(
    "relctl_approval_wait_seconds",
    "How long releases waited for their approvals, by service: ready for manual testing to every approval in.",
    "histogram",
    from((s) => histogramSamples(s.approvalWaits)),
  );
}
