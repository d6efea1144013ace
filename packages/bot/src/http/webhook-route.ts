import { createHash, timingSafeEqual } from "node:crypto";
import { UsageError } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { Update } from "grammy/types";
import type { AppDeps } from "../app-deps.js";

/** Compares in constant time (both sides hashed first, so their lengths match). */
export function secretsEqual(given: string | undefined, expected: string): boolean {
  const a = createHash("sha256")
    .update(given ?? "")
    .digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

/** POST /telegram/webhook: Telegram's updates, accepted only with the secret token header. */
export function registerWebhookRoute(
  app: FastifyInstance,
  deps: AppDeps,
  webhook: { secret: string; handleUpdate(update: Update): Promise<void> },
): void {
  app.post("/telegram/webhook", async (req, reply) => {
    const header = req.headers["x-telegram-bot-api-secret-token"];
    if (!secretsEqual(Array.isArray(header) ? header[0] : header, webhook.secret)) {
      await deps.store.appendAudit(
        deps.sql,
        { user: "unknown", channel: "telegram", traceId: req.traceId },
        "telegram.webhook_refused",
        null,
        null,
        { ip: req.ip, reason: header === undefined ? "no secret token" : "wrong secret token" },
      );
      deps.metrics.inc("relctl_telegram_refusals_total", "Button presses refused.", {
        code: "webhook_secret",
      });
      return reply.code(401).send({ error: { code: "unauthorized", message: "wrong webhook secret" } });
    }
    const update = req.body as { update_id?: unknown } | null;
    if (!update || typeof update !== "object" || !Number.isSafeInteger(update.update_id)) {
      throw new UsageError(
        "invalid_body",
        "body: expected a Telegram update (a JSON object with a numeric update_id)",
        { details: { field: "update_id" } },
      );
    }
    await webhook.handleUpdate(update as Update);
    return reply.code(200).send({ ok: true });
  });
}
