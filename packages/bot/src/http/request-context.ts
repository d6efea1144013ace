import { randomUUID } from "node:crypto";
import type { Actor, ApiToken } from "@relctl/core";
import type { FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyRequest {
    apiToken?: ApiToken;
    traceId: string;
  }
}

/** The W3C traceparent's trace id when the caller sent one, else a new id. */
export function traceIdOf(req: FastifyRequest): string {
  const parent = req.headers.traceparent;
  const m =
    typeof parent === "string" ? /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/.exec(parent) : null;
  return m?.[1] ?? randomUUID().replace(/-/g, "");
}

/** Who an API call acts as: the workflow's actor when it says so, else the token. */
export function apiActor(req: FastifyRequest, initiatedBy?: string | null): Actor {
  return {
    user: initiatedBy ? initiatedBy.toLowerCase() : `token:${req.apiToken!.name}`,
    channel: "api",
    traceId: req.traceId,
  };
}
