import type { Sql, TransactionSql } from "postgres";
import { AUDIT_CHAIN_GENESIS, type AuditRecord, auditLinkHash } from "../../domain/audit-chain.js";
import { UsageError } from "../../errors.js";
import { AUDIT_EVENT_QUEUED_NOTICE } from "./schema/0016-audit-chain-without-waiting.js";

export type AuditChainProblem =
  | "link_missing"
  | "relinked"
  | "event_deleted"
  | "edited"
  | "unlinked"
  | "anchor_mismatch";

export interface AuditChainBreak {
  readonly problem: AuditChainProblem;
  /** The link (place in the chain) where it breaks; null for an event with no link. */
  readonly seq: number | null;
  readonly eventId: number | null;
  readonly message: string;
}

export interface AuditChainReport {
  readonly ok: boolean;
  /** How many links were walked. */
  readonly links: number;
  /** The last link: keep it (seq and hash) to check later that the chain still holds it (--anchor). */
  readonly head: { readonly seq: number; readonly eventId: number; readonly hash: string } | null;
  /** The first breaks, in chain order (at most 100), and how many there are. */
  readonly broken: readonly AuditChainBreak[];
  readonly brokenCount: number;
  /**
   * Events committed while another transaction was linking, and not linked yet (migration 16):
   * queued for their link, not a break. Verify links the queue first, so these are only events
   * that committed meanwhile.
   */
  readonly pending: number;
}

export interface AuditAnchor {
  readonly seq: number;
  readonly hash: string;
}

/** `<seq>:<hash>` as printed by relctl audit verify. */
export function parseAuditAnchor(value: string): AuditAnchor {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(value.trim());
  if (!m || Number(m[1]) < 1) {
    throw new UsageError(
      "invalid_anchor",
      `anchor: expected <seq>:<sha256 hex> as relctl audit verify prints it, got ${JSON.stringify(value)}`,
    );
  }
  return { seq: Number(m[1]), hash: m[2]! };
}

const BATCH = 1000;
const AT_TEXT = `to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

type Row = Record<string, unknown>;

function recordFromRow(r: Row): AuditRecord {
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: Number(r.id),
    seq: num(r.seq),
    at: r.at as string,
    actor: r.actor as string,
    channel: r.channel as string,
    action: r.action as string,
    releaseId: num(r.release_id),
    before: (r.before as string | null) ?? null,
    after: (r.after as string | null) ?? null,
    traceId: (r.trace_id as string | null) ?? null,
    prevHash: (r.prev_hash as string | null) ?? null,
    hash: (r.hash as string | null) ?? null,
  };
}

/** One consistent snapshot for a read of many batches. */
function snapshot<T>(sql: Sql, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
  return sql.begin("isolation level repeatable read read only", fn) as Promise<T>;
}

/**
 * Walks the audit chain in order and recomputes every link from its event: a deleted, edited,
 * reordered or unlinked event, or a missing link, is a break. With `anchor` (a link kept from an
 * earlier verify or export), the chain must still hold that link: a chain rewritten whole by
 * someone who can write as the owner verifies on its own, but no longer holds the old link.
 */
export async function verifyAuditChain(
  sql: Sql,
  options: { anchor?: AuditAnchor; batchSize?: number } = {},
): Promise<AuditChainReport> {
  const batch = options.batchSize ?? BATCH;
  await linkPendingAuditEvents(sql);
  return snapshot(sql, async (tx) => {
    const broken: AuditChainBreak[] = [];
    let brokenCount = 0;
    const report = (b: AuditChainBreak) => {
      brokenCount++;
      if (broken.length < 100) broken.push(b);
    };
    let expectedSeq = 1;
    let prev = AUDIT_CHAIN_GENESIS;
    let links = 0;
    let head: AuditChainReport["head"] = null;
    let anchorSeen = false;
    for (;;) {
      const rows = await tx.unsafe(
        `SELECT c.seq::text AS seq, c.event_id::text AS id, c.prev_hash, c.hash, e.id IS NOT NULL AS present,
           ${AT_TEXT} AS at, e.actor, e.channel, e.action, e.release_id::text AS release_id,
           e.before::text AS before, e.after::text AS after, e.trace_id
         FROM audit_chain c LEFT JOIN audit_events e ON e.id = c.event_id
         WHERE c.seq >= $1 ORDER BY c.seq LIMIT $2`,
        [expectedSeq, batch],
      );
      for (const row of rows) {
        const r = recordFromRow(row);
        const seq = r.seq!;
        links++;
        if (seq !== expectedSeq) {
          report({
            problem: "link_missing",
            seq: expectedSeq,
            eventId: r.id,
            message: `audit chain: ${seq - expectedSeq === 1 ? `link ${expectedSeq} is` : `links ${expectedSeq}–${seq - 1} are`} missing before audit event ${r.id} (link ${seq}): deleted`,
          });
        } else if (r.prevHash !== prev) {
          report({
            problem: "relinked",
            seq,
            eventId: r.id,
            message: `audit event ${r.id} (link ${seq}): its previous hash is not link ${seq - 1}'s: the chain was cut or rewritten before it`,
          });
        }
        if (!row.present) {
          report({
            problem: "event_deleted",
            seq,
            eventId: r.id,
            message: `audit event ${r.id} (link ${seq}) is missing: it was deleted`,
          });
        } else if (auditLinkHash(r.prevHash ?? "", seq, r) !== r.hash) {
          report({
            problem: "edited",
            seq,
            eventId: r.id,
            message: `audit event ${r.id} (link ${seq}) does not match its hash: it was changed after it was recorded`,
          });
        }
        if (options.anchor && seq === options.anchor.seq) {
          anchorSeen = true;
          if (r.hash !== options.anchor.hash) {
            report({
              problem: "anchor_mismatch",
              seq,
              eventId: r.id,
              message: `audit chain: link ${seq} (audit event ${r.id}) is not the anchored ${options.anchor.hash.slice(0, 12)}…: the chain was rewritten since`,
            });
          }
        }
        prev = r.hash ?? "";
        expectedSeq = seq + 1;
        head = { seq, eventId: r.id, hash: prev };
      }
      if (rows.length < batch) break;
    }
    if (options.anchor && !anchorSeen) {
      report({
        problem: "anchor_mismatch",
        seq: options.anchor.seq,
        eventId: null,
        message: `audit chain: the anchored link ${options.anchor.seq} is not in the chain (it ends at ${head?.seq ?? 0}): links were deleted`,
      });
    }
    const unlinked = await tx`
      SELECT e.id::text AS id, count(*) OVER ()::int AS n FROM audit_events e
      WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = e.id)
        AND NOT EXISTS (SELECT 1 FROM audit_chain_pending p WHERE p.event_id = e.id)
      ORDER BY e.id LIMIT 100`;
    const [queued] = await tx`
      SELECT count(*)::int AS n FROM audit_chain_pending p
      WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.event_id = p.event_id)`;
    for (const u of unlinked) {
      report({
        problem: "unlinked",
        seq: null,
        eventId: Number(u.id),
        message: `audit event ${u.id} has no link in the chain: it was written with the chain's trigger off`,
      });
    }
    if (unlinked.length) brokenCount += Number(unlinked[0]!.n) - unlinked.length;
    return { ok: brokenCount === 0, links, head, broken, brokenCount, pending: Number(queued?.n ?? 0) };
  });
}

/**
 * Links the audit events queued for their link (see migration 16), waiting for a transaction
 * that is linking now; returns how many it linked. The owner's function does the linking, so the
 * runtime role may call it. A read-only connection (a standby) links nothing (null).
 */
export async function linkPendingAuditEvents(sql: Sql): Promise<number | null> {
  try {
    const [row] = await sql`SELECT relctl_audit_chain_extend() AS n`;
    return row?.n === null || row?.n === undefined ? null : Number(row.n);
  } catch (err) {
    // 25006: read-only transaction (a standby, or default_transaction_read_only).
    if ((err as { code?: string }).code === "25006") return null;
    throw err;
  }
}

const queuedListeners = new Set<() => void>();

/**
 * Calls `listener` whenever a write of this process's database connections left an audit event
 * queued for its link (the chain's trigger says so with a notice); returns the unsubscribe.
 */
export function onAuditEventQueued(listener: () => void): () => void {
  queuedListeners.add(listener);
  return () => queuedListeners.delete(listener);
}

/** The connections' notice handler (openDatabase): a queued event's notice reaches the listeners. */
export function handleDatabaseNotice(notice: { message?: string }): void {
  if (notice.message !== AUDIT_EVENT_QUEUED_NOTICE) return;
  for (const listener of queuedListeners) listener();
}

export interface AuditExportFilter {
  /** Events at or after this time. */
  readonly since: Date;
  /** Events before this time (default: all). */
  readonly until?: Date;
}

/**
 * The audit events of a period in id order, each with its chain link, as the database stores
 * them (see AuditRecord), handed to `write` a batch at a time from one snapshot.
 */
export async function exportAuditEvents(
  sql: Sql,
  filter: AuditExportFilter,
  write: (records: readonly AuditRecord[]) => Promise<void> | void,
  options: { batchSize?: number } = {},
): Promise<number> {
  const batch = options.batchSize ?? BATCH;
  await linkPendingAuditEvents(sql);
  return snapshot(sql, async (tx) => {
    let afterId = 0;
    let count = 0;
    for (;;) {
      const rows = await tx.unsafe(
        `SELECT e.id::text AS id, c.seq::text AS seq, ${AT_TEXT} AS at, e.actor, e.channel, e.action,
           e.release_id::text AS release_id, e.before::text AS before, e.after::text AS after, e.trace_id,
           c.prev_hash, c.hash
         FROM audit_events e LEFT JOIN audit_chain c ON c.event_id = e.id
         WHERE e.id > $1 AND e.at >= $2 AND ($3::timestamptz IS NULL OR e.at < $3)
         ORDER BY e.id LIMIT $4`,
        [afterId, filter.since.toISOString(), filter.until?.toISOString() ?? null, batch],
      );
      if (rows.length === 0) break;
      const records = rows.map(recordFromRow);
      await write(records);
      count += records.length;
      afterId = records[records.length - 1]!.id;
      if (rows.length < batch) break;
    }
    return count;
  });
}
