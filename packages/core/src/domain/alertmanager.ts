import { z } from "zod";
import { formatPath } from "../config/load.js";
import { UsageError } from "../errors.js";

const labels = z.record(z.string(), z.string());

/** Alertmanager's webhook payload, version 4. Extra keys are allowed (Alertmanager adds some). */
export const alertmanagerWebhookSchema = z.object({
  version: z.literal("4"),
  status: z.enum(["firing", "resolved"]),
  receiver: z.string().optional(),
  groupKey: z.string().optional(),
  groupLabels: labels.optional(),
  commonLabels: labels.optional(),
  commonAnnotations: labels.optional(),
  externalURL: z.string().optional(),
  alerts: z
    .array(
      z.object({
        status: z.enum(["firing", "resolved"]),
        labels,
        annotations: labels.default({}),
        startsAt: z.string().min(1),
        endsAt: z.string().optional(),
        generatorURL: z.string().optional(),
        fingerprint: z.string().min(1).max(128),
      }),
    )
    .max(1000),
});

/** One alert as relctl keeps it. */
export interface IncomingAlert {
  readonly fingerprint: string;
  readonly status: "firing" | "resolved";
  readonly startsAt: string;
  readonly name: string;
  readonly service: string | null;
  readonly severity: string | null;
  readonly summary: string | null;
  readonly generatorUrl: string | null;
}

/** Parses an Alertmanager webhook body; a 400 names the field. Pure. */
export function parseAlertmanagerWebhook(body: unknown): IncomingAlert[] {
  const parsed = alertmanagerWebhookSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = formatPath(issue.path);
    throw new UsageError("invalid_body", `${path || "body"}: ${issue.message}`, { details: { field: path } });
  }
  return parsed.data.alerts.map((a) => ({
    fingerprint: a.fingerprint,
    status: a.status,
    startsAt: a.startsAt,
    name: a.labels.alertname ?? "alert",
    service: a.labels.service ?? a.labels.job ?? null,
    severity: a.labels.severity ?? null,
    summary: a.annotations.summary ?? a.annotations.description ?? null,
    generatorUrl: a.generatorURL ?? null,
  }));
}

/** Two deliveries of the same alert (from any Alertmanager replica) share this key. */
export function alertDedupeKey(alert: IncomingAlert): string {
  return `${alert.fingerprint}:${alert.status}:${alert.startsAt}`;
}
