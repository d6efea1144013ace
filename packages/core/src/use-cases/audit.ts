import type { Sql } from "postgres";
import {
  type AuditChainReport,
  exportAuditEvents,
  parseAuditAnchor,
  verifyAuditChain,
} from "../adapters/postgres/audit-chain.js";
import {
  type AuditExportFormat,
  type AuditRecord,
  auditCsvHeader,
  auditCsvLine,
  auditJsonLine,
} from "../domain/audit-chain.js";
import { UsageError } from "../errors.js";
import { parsePeriod } from "./report.js";

/**
 * A point in time for `--since`/`--until`: an ISO date or date-time (2026-05-01, 2026-05-01T12:00Z;
 * a date alone is midnight UTC), or a period back from `now` (30d, 12h).
 */
export function parseAuditTime(value: string, field: string, now: Date = new Date()): Date {
  const v = value.trim();
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) {
    const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v.replace(" ", "T"));
    if (!Number.isNaN(date.getTime())) return date;
  }
  if (/^\d/.test(v) && !v.includes("-")) return new Date(now.getTime() - parsePeriod(v, field));
  throw new UsageError(
    "invalid_time",
    `${field}: "${value}" is not a date (2026-05-01, 2026-05-01T12:00:00Z) or a period back from now (30d, 12h)`,
  );
}

/** relctl audit verify: walks the chain; `anchor` is a link kept from before (`<seq>:<hash>`). */
export function verifyAudit(
  sql: Sql,
  input: { anchor?: string | undefined } = {},
): Promise<AuditChainReport> {
  return verifyAuditChain(sql, input.anchor ? { anchor: parseAuditAnchor(input.anchor) } : {});
}

/**
 * relctl audit export: the events of a period, oldest first, as CSV (a header, then one record
 * per event) or JSON lines, handed to `write` in chunks. Returns how many events were written.
 */
export async function exportAudit(
  sql: Sql,
  input: { since: string; until?: string | undefined; format: AuditExportFormat; now?: Date },
  write: (chunk: string) => Promise<void> | void,
): Promise<number> {
  const since = parseAuditTime(input.since, "since", input.now);
  const until = input.until ? parseAuditTime(input.until, "until", input.now) : undefined;
  if (until && until <= since) throw new UsageError("invalid_time", "until: must be later than since");
  const line: (r: AuditRecord) => string = input.format === "csv" ? auditCsvLine : auditJsonLine;
  if (input.format === "csv") await write(auditCsvHeader());
  return exportAuditEvents(sql, { since, ...(until ? { until } : {}) }, (records) =>
    write(records.map(line).join("")),
  );
}
