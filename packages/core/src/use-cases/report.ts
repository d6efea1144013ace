import type { Sql } from "postgres";
import {
  type EffectivenessReport,
  REPORT_INTERVALS,
  type ReportInterval,
  readEffectivenessReport,
} from "../adapters/postgres/report-reads.js";
import { parseDuration } from "../config/duration.js";
import { validateService } from "../domain/names.js";
import { UsageError } from "../errors.js";

/** A report period back from now: "30d", "12h", "90m" or a duration relctl.yml takes. */
export function parsePeriod(value: string, field = "since"): number {
  const days = /^(\d+)d$/.exec(value);
  const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(value);
  if (ms === undefined || ms <= 0)
    throw new UsageError("invalid_since", `${field}: "${value}" is not a period such as 30d or 12h`);
  return ms;
}

/**
 * The seed's effectiveness figures over a period, for one service or all: production deploys
 * (runs in gated environments) and their duration, the share of successful releases, MTTR,
 * incidents per 30 days, people per release; and DORA's four keys (deployment frequency, lead
 * time for changes, change failure rate, time to restore service). The same figures per service
 * and per day, week or month of the period (`interval`; by default from the period's length).
 */
export function reportEffectiveness(
  sql: Sql,
  input: {
    since: string;
    service?: string | undefined;
    /** Only these services (what a caller may read); undefined: every one. */
    services?: readonly string[] | undefined;
    interval?: string | undefined;
    now?: Date;
  },
): Promise<EffectivenessReport> {
  const service = input.service ? validateService(input.service) : undefined;
  if (input.interval !== undefined && !REPORT_INTERVALS.includes(input.interval as ReportInterval))
    throw new UsageError("invalid_interval", `interval: "${input.interval}" is not one of day, week, month`);
  const now = input.now ?? new Date();
  return readEffectivenessReport(sql, {
    since: new Date(now.getTime() - parsePeriod(input.since)),
    service,
    services: input.services,
    interval: input.interval as ReportInterval | undefined,
    now,
  });
}
