import type { Sql } from "postgres";
import {
  PRODUCTION_STATUSES,
  type ProductionHistory,
  planProductionHistory,
} from "../../domain/production-history.js";
import { releaseFromRow } from "./release-store.js";

export async function readProductionHistory(sql: Sql, service: string): Promise<ProductionHistory> {
  const rows = await sql`
    SELECT * FROM releases WHERE service_name = ${service} AND status::text IN ${sql(PRODUCTION_STATUSES as string[])}
    ORDER BY completed_at DESC NULLS LAST, id DESC LIMIT 200`;
  return planProductionHistory(rows.map(releaseFromRow));
}

/** Who moved a release to `deployed`, and when (from the audit log). */
export async function readDeployment(
  sql: Sql,
  releaseId: number,
): Promise<{ at: Date; by: string } | undefined> {
  const [row] = await sql`
    SELECT at, actor FROM audit_events
    WHERE release_id = ${releaseId} AND action = 'release.status' AND after->>'status' = 'deployed'
    ORDER BY id DESC LIMIT 1`;
  return row ? { at: row.at as Date, by: row.actor as string } : undefined;
}
