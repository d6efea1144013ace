import { createHash } from "node:crypto";

/**
 * An audit event as the database renders the fields its chain link hashes: text exactly as
 * stored (`at` in UTC with microseconds, `before`/`after` as jsonb's text). The canonical content
 * and the hash are the ones migration 14's trigger computes in the database.
 */
export interface AuditRecord {
  readonly id: number;
  /** Its place in the chain (null: the event has no link). */
  readonly seq: number | null;
  /** e.g. 2026-05-01T12:00:00.123456Z */
  readonly at: string;
  readonly actor: string;
  readonly channel: string;
  readonly action: string;
  readonly releaseId: number | null;
  /** jsonb's text of the value, or null. */
  readonly before: string | null;
  readonly after: string | null;
  readonly traceId: string | null;
  readonly prevHash: string | null;
  readonly hash: string | null;
}

/** The previous hash of the chain's first link. */
export const AUDIT_CHAIN_GENESIS = "0".repeat(64);

function field(value: string | null): string {
  return value === null ? "~" : `${Buffer.byteLength(value, "utf8")}:${value}`;
}

/** sha256 of (previous hash, seq, the event's canonical content), hex: what the link stores. */
export function auditLinkHash(
  prevHash: string,
  seq: number,
  e: Omit<AuditRecord, "seq" | "prevHash" | "hash">,
) {
  const text = [
    prevHash,
    String(seq),
    String(e.id),
    e.at,
    e.actor,
    e.channel,
    e.action,
    e.releaseId === null ? null : String(e.releaseId),
    e.before,
    e.after,
    e.traceId,
  ]
    .map(field)
    .join("");
  return createHash("sha256").update(text, "utf8").digest("hex");
}

export const AUDIT_EXPORT_COLUMNS = [
  "id",
  "seq",
  "at",
  "actor",
  "channel",
  "action",
  "release_id",
  "before",
  "after",
  "trace_id",
  "prev_hash",
  "hash",
] as const;

export type AuditExportFormat = "csv" | "jsonl";

function csvCell(value: string | number | null): string {
  if (value === null) return "";
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function columns(r: AuditRecord): (string | number | null)[] {
  return [
    r.id,
    r.seq,
    r.at,
    r.actor,
    r.channel,
    r.action,
    r.releaseId,
    r.before,
    r.after,
    r.traceId,
    r.prevHash,
    r.hash,
  ];
}

/** The CSV header line (RFC 4180, CRLF). */
export function auditCsvHeader(): string {
  return `${AUDIT_EXPORT_COLUMNS.join(",")}\r\n`;
}

/** One event as a CSV record: every field as stored and hashed (before/after: JSON text; NULL: empty). */
export function auditCsvLine(r: AuditRecord): string {
  return `${columns(r).map(csvCell).join(",")}\r\n`;
}

/** One event as a JSON line; before/after are the stored JSON values themselves (not re-encoded). */
export function auditJsonLine(r: AuditRecord): string {
  const parts = AUDIT_EXPORT_COLUMNS.map((name, i) => {
    const value = columns(r)[i]!;
    const raw = (name === "before" || name === "after") && value !== null;
    return `${JSON.stringify(name)}:${raw ? String(value) : JSON.stringify(value)}`;
  });
  return `{${parts.join(",")}}\n`;
}
