import type { Sql } from "postgres";
import { type EffectivenessReport, readEffectivenessReport } from "../adapters/postgres/report-reads.js";
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
 * incidents per 30 days, people per release.
 */
export function reportEffectiveness(
  sql: Sql,
  input: { since: string; service?: string | undefined; now?: Date },
): Promise<EffectivenessReport> {
  const service = input.service ? validateService(input.service) : undefined;
  const now = input.now ?? new Date();
  return readEffectivenessReport(sql, {
    since: new Date(now.getTime() - parsePeriod(input.since)),
    service,
    now,
  });
}
