import { randomUUID } from "node:crypto";
import type { Actor, ApiToken } from "@relctl/core";
import type { FastifyRequest } from "fastify";
import type { OidcCaller } from "./api-auth.js";
import { requestSpanRef } from "./http-tracing.js";

declare module "fastify" {
  interface FastifyRequest {
    /** The caller's API token; or */
    apiToken?: ApiToken;
    /** the workflow that proved itself with an OIDC ID token. */
    oidc?: OidcCaller;
    traceId: string;
  }
}

/** The W3C traceparent's trace id when the caller sent one, else a new id. */
export function traceIdOf(req: FastifyRequest): string {
  const traced = requestSpanRef(req)?.traceId;
  if (traced) return traced;
  const parent = req.headers.traceparent;
  const m =
    typeof parent === "string" ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(parent) : null;
  return m?.[1] ?? randomUUID().replace(/-/g, "");
}

/**
 * Who an API call acts as: for an ID token, the GitHub login its claims name (proven by GitHub),
 * else the workflow; for an API token, the workflow's actor when it says so, else the token.
 */
export function apiActor(req: FastifyRequest, initiatedBy?: string | null): Actor {
  const proven = req.oidc?.claims.actor?.toLowerCase();
  return {
    user:
      proven ??
      (initiatedBy ? initiatedBy.toLowerCase() : req.oidc ? req.oidc.name : `token:${req.apiToken!.name}`),
    channel: "api",
    traceId: req.traceId,
    ...(requestSpanRef(req)?.traceId === req.traceId ? { spanId: requestSpanRef(req)!.spanId } : {}),
  };
}
