import { ExternalError, type RelctlError, toRelctlError, UsageError } from "@relctl/core";

const BY_CODE: Readonly<Record<string, number>> = {
  release_not_found: 404,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  ip_not_allowed: 403,
  idempotency_mismatch: 422,
  payload_too_large: 413,
  unsupported_media_type: 415,
};

const BY_KIND: Readonly<Record<RelctlError["kind"], number>> = {
  usage: 400,
  state: 409,
  external: 503,
  bug: 500,
};

/** Fastify's own errors (body too large, bad JSON, …) as RelctlErrors. */
export function fromFrameworkError(err: unknown): RelctlError {
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e?.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return new UsageError("payload_too_large", "body: larger than the limit this API accepts");
  }
  if (e?.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
    return new UsageError("unsupported_media_type", "body: send application/json");
  }
  if (e?.code === "FST_ERR_CTP_EMPTY_JSON_BODY" || e?.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return new UsageError("invalid_json", "body: not valid JSON");
  }
  if (typeof e?.code === "string" && /^(ECONN|ETIMEDOUT|CONNECT|CONNECTION_|57P0|53300|08)/.test(e.code)) {
    return new ExternalError("db_unavailable", "database: unavailable, try again", { cause: err });
  }
  if (
    typeof e?.statusCode === "number" &&
    e.statusCode >= 400 &&
    e.statusCode < 500 &&
    e.code?.startsWith("FST_")
  ) {
    return new UsageError("bad_request", (e.message ?? "bad request").split("\n")[0]!);
  }
  return toRelctlError(err);
}

/** The one place errors become HTTP answers: status by code, else by kind; body `{error: {...}}`. */
export function httpErrorResponse(err: unknown): { status: number; body: Record<string, unknown> } {
  const error = fromFrameworkError(err);
  const status = BY_CODE[error.code] ?? BY_KIND[error.kind];
  const body =
    error.kind === "bug"
      ? { error: { code: error.code, kind: "bug", message: "internal error" } }
      : error.toJSON();
  return { status, body };
}
