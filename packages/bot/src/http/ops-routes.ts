import { databaseOutageOf, readStoreSchemaVersion } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../app-deps.js";
import { RETRY_AFTER_SECONDS } from "./http-errors.js";

export interface HealthProbe {
  readonly name: string;
  check(): Promise<boolean>;
}

/**
 * GET /health (the database, and what else is wired) and GET /metrics (Prometheus text). The
 * checks run side by side, each given `timeoutMs`, so that the answer comes before the request's
 * deadline: a database that does not answer in time is reported down (503, Retry-After). /metrics
 * gives its database reads the same budget.
 */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  probes: readonly HealthProbe[],
  options: { timeoutMs: number },
): void {
  app.get("/health", async (_req, reply) => {
    const [database, ...checked] = await Promise.all([
      withTimeout(readStoreSchemaVersion(deps.sql), options.timeoutMs).then(
        (version): Record<string, unknown> => ({ ok: true, schema_version: version }),
        (err) => ({ ok: false, error: healthError(err) }),
      ),
      ...probes.map((p) => withTimeout(p.check(), options.timeoutMs).catch(() => false)),
    ]);
    const others: Record<string, { ok: boolean }> = {};
    probes.forEach((p, i) => {
      others[p.name] = { ok: checked[i] === true };
    });
    const ok = database!.ok === true;
    if (!ok) reply.header("retry-after", String(RETRY_AFTER_SECONDS));
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", database, ...others });
  });

  app.get("/metrics", async (_req, reply) => {
    // Database figures are read within `timeoutMs`; without them the answer says relctl_metrics_db_up 0.
    const text = await deps.metrics.render({ timeoutMs: options.timeoutMs });
    return reply.type(deps.metrics.contentType).send(text);
  });
}

/** Why the database check failed: no server, no answer in time, or another error. */
function healthError(err: unknown): "unavailable" | "timeout" | "failed" {
  if (databaseOutageOf(err)) return "unavailable";
  return err instanceof Error && err.message === "timeout" ? "timeout" : "failed";
}

/** `p`, or a rejection (`timeout`) once `ms` have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("timeout")), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
