import type { Sql } from "postgres";
import { alertDedupeKey, type IncomingAlert } from "../../domain/alertmanager.js";
import { ExternalError } from "../../errors.js";
import { errorText } from "./database.js";
import { OutboxStore } from "./outbox-store.js";
import { readDeployment, readProductionHistory } from "./production-history-reads.js";

/** A fast, shared "seen this key?" memory (Redis). May be down: the database then decides alone. */
export interface DedupeCache {
  /** true: first to claim the key; false: already seen. Throws when the cache cannot answer. */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

export interface RecordAlertsResult {
  readonly queued: number;
  readonly duplicates: number;
  readonly cacheAvailable: boolean;
}

const DEDUPE_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Queues each new alert for the alert chats. The cache filters repeats; the outbox's unique
 * (chat, event key) is the final word, so with the cache down (or racing) an alert still posts once.
 * Throws an ExternalError only when the database could not record it (the webhook then answers 5xx
 * and Alertmanager retries); a key the cache claimed for a failed write is released.
 */
export async function recordAlerts(
  deps: { readonly sql: Sql; readonly cache?: DedupeCache },
  alerts: readonly IncomingAlert[],
): Promise<RecordAlertsResult> {
  const outbox = new OutboxStore(deps.sql);
  let queued = 0;
  let duplicates = 0;
  let cacheAvailable = deps.cache !== undefined;
  for (const alert of alerts) {
    const key = alertDedupeKey(alert);
    let claimed = false;
    if (deps.cache && cacheAvailable) {
      try {
        claimed = await deps.cache.claim(`alert:${key}`, DEDUPE_TTL_SECONDS);
        if (!claimed) {
          duplicates++;
          continue;
        }
      } catch {
        cacheAvailable = false;
      }
    }
    try {
      const payload = await describeAlert(deps.sql, alert);
      const n = await outbox.enqueue(deps.sql, {
        to: "alert_chats",
        kind: "alert",
        eventKey: `alert:${key}`,
        releaseId: (payload.release_id as number | null) ?? null,
        payload,
      });
      if (n > 0) queued++;
      else duplicates++;
    } catch (err) {
      if (claimed) await deps.cache?.release(`alert:${key}`).catch(() => {});
      throw new ExternalError("alert_not_recorded", `alerts: could not record the alert: ${errorText(err)}`, {
        cause: err,
      });
    }
  }
  return { queued, duplicates, cacheAvailable };
}

/** The alert plus what production runs for its service, and the version to roll back to. */
async function describeAlert(sql: Sql, alert: IncomingAlert): Promise<Record<string, unknown>> {
  const base = {
    fingerprint: alert.fingerprint,
    name: alert.name,
    status: alert.status,
    service: alert.service,
    severity: alert.severity,
    summary: alert.summary,
    starts_at: alert.startsAt,
    generator_url: alert.generatorUrl,
    release_id: null as number | null,
  };
  if (!alert.service) return base;
  const history = await readProductionHistory(sql, alert.service);
  if (!history.current) return base;
  const deployment = await readDeployment(sql, history.current.id);
  // The people who let it in, not the CI token that moved it.
  const approvals = await sql`
    SELECT user_id, role FROM approvals WHERE release_id = ${history.current.id} AND decision = 'approve'
    ORDER BY id`;
  return {
    ...base,
    release_id: history.current.id,
    tag: history.current.tag,
    deployed_at: (deployment?.at ?? history.current.completedAt)?.toISOString() ?? null,
    deployed_by: deployment?.by ?? history.current.initiatedBy,
    rollback_to: history.restorable[0]?.tag ?? null,
    approved_by: approvals.map((a) => ({ user: a.user_id as string, role: a.role as string })),
  };
}
