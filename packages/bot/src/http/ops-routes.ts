import { readStoreSchemaVersion } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../app-deps.js";

export interface HealthProbe {
  readonly name: string;
  check(): Promise<boolean>;
}

/** GET /health (the database, and what else is wired) and GET /metrics (Prometheus text). */
export function registerOpsRoutes(app: FastifyInstance, deps: AppDeps, probes: readonly HealthProbe[]): void {
  app.get("/health", async (_req, reply) => {
    let database: Record<string, unknown>;
    try {
      const version = await withTimeout(readStoreSchemaVersion(deps.sql), 2000);
      database = { ok: true, schema_version: version };
    } catch {
      database = { ok: false };
    }
    const others: Record<string, { ok: boolean }> = {};
    for (const p of probes) others[p.name] = { ok: await withTimeout(p.check(), 1000).catch(() => false) };
    const ok = database.ok === true;
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", database, ...others });
  });

  app.get("/metrics", async (_req, reply) => {
    return reply.type("text/plain; version=0.0.4; charset=utf-8").send(await deps.metrics.render());
  });
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
