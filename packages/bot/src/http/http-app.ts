import { createHash, timingSafeEqual } from "node:crypto";
import type { DedupeCache } from "@relctl/core";
import { OidcStore, onAuditEventQueued, UsageError } from "@relctl/core";
import Fastify, { type FastifyInstance } from "fastify";
import type { Update } from "grammy/types";
import type { AppDeps } from "../app-deps.js";
import { registerAlertRoutes } from "./alert-routes.js";
import { ApiAuth, createIpAllowList } from "./api-auth.js";
import { AuditChainLinker } from "./audit-linker.js";
import { installRequestDeadline, situationOf } from "./deadline.js";
import { httpErrorResponse } from "./http-errors.js";
import { installHttpTracing } from "./http-tracing.js";
import { registerMemberRoutes } from "./member-routes.js";
import { OidcVerifier } from "./oidc-verifier.js";
import { type HealthProbe, registerOpsRoutes } from "./ops-routes.js";
import { registerReleaseRoutes } from "./release-routes.js";
import { registerReportRoute } from "./report-route.js";
import { traceIdOf } from "./request-context.js";
import { registerWebhookRoute } from "./webhook-route.js";

export interface HttpAppOptions {
  readonly bodyLimit: number;
  readonly allowIps: readonly string[];
  readonly trustProxy: boolean;
  readonly cache?: DedupeCache;
  readonly probes?: readonly HealthProbe[];
  readonly webhook?: { secret: string; handleUpdate(update: Update): Promise<void> };
  readonly tokenCacheMs?: number;
  /** Requests per minute per address (0: none), and failed authentications per minute per address. */
  readonly rateLimit?: number;
  readonly authFailureLimit?: number;
  /** /metrics wants `Authorization: Bearer <it>`, from any address; unset: this machine or the allow-list. */
  readonly metricsToken?: string;
  /** Every request but the Telegram webhook is answered within this (503 past it); none if unset. */
  readonly deadlineMs?: number;
  /** GitHub OIDC ID tokens: the exact issuer and audience they must name; none: not taken. */
  readonly oidc?: { readonly issuer: string; readonly audience: string };
}

/** Routes that need a bearer token; /health, /metrics and the Telegram webhook do not. */
const PUBLIC = new Set(["/health", "/metrics", "/telegram/webhook"]);
/** Routes the IP allow-list guards (Telegram's webhook is guarded by its secret instead). */
const ALLOW_LISTED = (url: string) => url !== "/health" && url !== "/telegram/webhook";
/**
 * Routes without the per-request deadline: an update Telegram sees answered 5xx is delivered
 * again, while the first delivery may still be running.
 */
const NO_DEADLINE = (url: string) => url === "/telegram/webhook";
/** Routes the per-address rate limit counts (Telegram's webhook and /health are not). */
const RATE_LIMITED = (url: string) => url !== "/health" && url !== "/telegram/webhook";

/**
 * The HTTP API (fastify). One error handler turns every failure into `{error: {code, message}}`,
 * the per-request deadline's included (see deadline.ts).
 */
export async function buildHttpApp(deps: AppDeps, options: HttpAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit, trustProxy: options.trustProxy });
  const auth = new ApiAuth(
    deps.tokens,
    options.tokenCacheMs,
    deps.sql,
    options.oidc ? { verifier: new OidcVerifier(options.oidc), store: new OidcStore(deps.sql) } : undefined,
  );
  await auth.start();
  const ipAllowed = createIpAllowList(options.allowIps);

  const authFailures = new AuthFailures(options.authFailureLimit ?? 20, 60_000);
  // Per address, in this process: @fastify/rate-limit, answered in the API's error format.
  if (options.rateLimit) {
    const { default: rateLimit } = await import("@fastify/rate-limit");
    await app.register(rateLimit, {
      max: options.rateLimit,
      timeWindow: 60_000,
      allowList: (req) => !RATE_LIMITED(req.routeOptions.url ?? req.url),
      errorResponseBuilder: (_req, context) =>
        new UsageError(
          "rate_limited",
          `too many requests from your address: at most ${context.max} a minute; try again in ${Math.ceil(context.ttl / 1000)} s`,
          { details: { retry_after: Math.ceil(context.ttl / 1000) } },
        ),
    });
  }

  app.decorateRequest("traceId", "");
  installHttpTracing(app);
  app.decorateRequest("deadline", undefined);
  // First, so that the deadline covers the authentication's database read too.
  installRequestDeadline(app, options.deadlineMs, NO_DEADLINE);
  app.addHook("onRequest", async (req) => {
    req.traceId = traceIdOf(req);
    (req as { startedAt?: bigint }).startedAt = process.hrtime.bigint();
    const path = req.routeOptions.url ?? req.url;
    if (ALLOW_LISTED(path) && !ipAllowed(req.ip)) {
      throw new UsageError("ip_not_allowed", `your address ${req.ip} is not on the allow-list`);
    }
    if (path === "/metrics" && options.metricsToken) {
      if (!sameSecret(req.headers.authorization ?? "", `Bearer ${options.metricsToken}`))
        throw new UsageError(
          "unauthorized",
          "authorization: /metrics wants `Authorization: Bearer <RELCTL_METRICS_TOKEN>`",
        );
      return;
    }
    // Without an allow-list the metrics are for this machine only (they name services and people).
    if (path === "/metrics" && options.allowIps.length === 0 && !isLoopback(req.ip)) {
      throw new UsageError(
        "ip_not_allowed",
        `your address ${req.ip} may not read /metrics: without RELCTL_ALLOWED_IPS only this machine may`,
      );
    }
    if (PUBLIC.has(path)) return;
    const blocked = authFailures.blockedFor(req.ip);
    if (blocked > 0) {
      throw new UsageError(
        "rate_limited",
        `too many failed authentications from your address; try again in ${Math.ceil(blocked / 1000)} s`,
        { details: { retry_after: Math.ceil(blocked / 1000) } },
      );
    }
    // A workflow's ID token is verified and its jti used here, for every route.
    if (auth.bearsIdToken(req.headers.authorization))
      req.oidc = await auth.authenticateIdToken(req.headers.authorization);
    // Routes that check the token in their own transaction (see release-routes.ts) only read it here.
    else if (req.routeOptions.config?.tokenInTransaction) auth.secretOf(req.headers.authorization);
    else req.apiToken = await auth.authenticate(req.headers.authorization);
  });
  // An audit event this process's writes left queued (the chain's lock was taken as it committed)
  // is linked soon after.
  const linker = new AuditChainLinker(deps.sql, (err) =>
    deps.logger.warn("audit chain: linking the queued events failed", { err }),
  );
  const stopLinking = onAuditEventQueued(() => linker.poke());
  app.addHook("onResponse", async (req, reply) => {
    const started = (req as { startedAt?: bigint }).startedAt;
    const route = req.routeOptions.url ?? "unmatched";
    const labels = { method: req.method, route, status: String(reply.statusCode) };
    deps.metrics.inc("relctl_http_requests_total", "HTTP requests answered.", labels);
    if (started !== undefined) {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.logger.debug("http request", {
        method: req.method,
        route,
        status: reply.statusCode,
        ms: Math.round(seconds * 1000),
        trace: req.traceId,
      });
      deps.metrics.observe(
        "relctl_http_request_duration_seconds",
        "HTTP request latency.",
        { route },
        seconds,
      );
    }
  });
  app.addHook("onClose", async () => {
    await auth.close();
    stopLinking();
    await linker.close();
  });
  app.setErrorHandler(async (err, req, reply) => {
    const { status, body, headers } = httpErrorResponse(err, situationOf(req));
    if (status >= 500) deps.logger.error("http request failed", { route: req.routeOptions.url, err });
    else if (status === 401 || status === 403 || status === 429) {
      if (status === 401) authFailures.record(req.ip);
      // Refusals are logged (who tried what from where), never with the token itself.
      const error = (body as { error?: { code?: string; message?: string } }).error;
      const code = error?.code ?? String(status);
      deps.logger.warn("http request refused", {
        method: req.method,
        route: req.routeOptions.url ?? req.url,
        ip: req.ip,
        status,
        code,
        reason: error?.message ?? null,
        token: req.apiToken?.name ?? req.oidc?.name ?? null,
      });
      deps.metrics.inc("relctl_http_refusals_total", "HTTP requests refused (401, 403, 429).", {
        status: String(status),
        code,
      });
    }
    return reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler(async (_req, reply) =>
    reply.code(404).send({ error: { code: "not_found", kind: "usage", message: "no such route" } }),
  );

  registerReleaseRoutes(app, deps, auth);
  registerMemberRoutes(app, deps, auth);
  registerAlertRoutes(app, deps, auth, options.cache);
  registerReportRoute(app, deps, auth);
  registerOpsRoutes(app, deps, options.probes ?? [], {
    timeoutMs: Math.min(1000, Math.floor((options.deadlineMs ?? 2000) / 2)),
  });
  if (options.webhook) registerWebhookRoute(app, deps, options.webhook);
  await app.ready();
  return app;
}

function isLoopback(ip: string): boolean {
  const plain = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
  return plain === "::1" || plain.startsWith("127.");
}

/**
 * Failed authentications per address: past `limit` in a window, the address is refused (429) until
 * the window ends, so guessing tokens is slow. In this process's memory, like the rate limit.
 */
class AuthFailures {
  private readonly byIp = new Map<string, { count: number; until: number }>();
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  record(ip: string): void {
    const now = Date.now();
    const entry = this.byIp.get(ip);
    if (!entry || entry.until <= now) this.byIp.set(ip, { count: 1, until: now + this.windowMs });
    else entry.count++;
    if (this.byIp.size > 10_000) {
      for (const [key, value] of this.byIp) if (value.until <= now) this.byIp.delete(key);
    }
  }

  /** Milliseconds the address is still refused for; 0 when it may try. */
  blockedFor(ip: string): number {
    const entry = this.byIp.get(ip);
    if (!entry || entry.count < this.limit) return 0;
    return Math.max(0, entry.until - Date.now());
  }
}

/** Compares two secrets in time that does not depend on where they differ. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}
