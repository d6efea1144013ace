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
 * deadline: a database that does not answer in time is reported down (503, Retry-After).
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
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(await deps.metrics.render());
  });
}

/** Why the database check failed: no server, no answer in time, or another error. */
function healthError(err: unknown): "unavailable" | "timeout" | "failed" {
  if (databaseOutageOf(err)) return "unavailable";
  return err instanceof Error && err.message === "timeout" ? "timeout" : "failed";
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
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
