import { REPORT_PAGE_CSP, renderReportHtml, reportEffectiveness, reportJson, UsageError } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { AppDeps } from "../app-deps.js";
import type { ApiAuth } from "./api-auth.js";
import { parseRequest } from "./body-schemas.js";

const reportQuery = z.strictObject({
  service: z.string().optional(),
  since: z.string().optional(),
  interval: z.string().optional(),
  format: z.enum(["html", "json"]).optional(),
});

/**
 * GET /report: the effectiveness report (`relctl report`) as its HTML page with charts, or its
 * JSON with ?format=json. Behind the same bearer token as the other read routes (GET /releases):
 * it is per-service release history, so a token sees the services it may read and no others.
 */
export function registerReportRoute(app: FastifyInstance, deps: AppDeps, auth: ApiAuth): void {
  app.get("/report", async (req, reply) => {
    const q = parseRequest(reportQuery, req.query, "query");
    const allowed = auth.callerServices(req);
    if (q.service) auth.requireCaller(req, q.service);
    else if (allowed !== "all" && allowed.length === 0)
      throw new UsageError("forbidden", "the token is not allowed for any service");
    const report = await reportEffectiveness(deps.sql, {
      since: q.since ?? "30d",
      service: q.service,
      services: q.service || allowed === "all" ? undefined : allowed,
      interval: q.interval,
    });
    if (q.format === "json") return reportJson(report);
    return reply
      .type("text/html; charset=utf-8")
      .header("content-security-policy", REPORT_PAGE_CSP)
      .header("cache-control", "no-store")
      .send(renderReportHtml(report));
  });
}
