import { type DedupeCache, parseAlertmanagerWebhook, recordAlerts } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../app-deps.js";
import type { ApiAuth } from "./api-auth.js";

/** POST /alerts: Alertmanager's webhook (version 4). 5xx only when nothing could record the alert. */
export function registerAlertRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  auth: ApiAuth,
  cache: DedupeCache | undefined,
): void {
  app.post("/alerts", async (req) => {
    auth.requireScope(req, "alerts");
    const alerts = parseAlertmanagerWebhook(req.body);
    const result = await recordAlerts({ sql: deps.sql, ...(cache ? { cache } : {}) }, alerts);
    deps.metrics.inc("relctl_alerts_received_total", "Alerts received from Alertmanager.", {}, alerts.length);
    return { received: alerts.length, queued: result.queued, duplicates: result.duplicates };
  });
}
