import {
  databaseOutageOf,
  ExternalError,
  isRelctlError,
  type RelctlError,
  toDatabaseUnavailable,
  toRelctlError,
  UsageError,
} from "@relctl/core";

const BY_CODE: Readonly<Record<string, number>> = {
  release_not_found: 404,
  not_found: 404,
  unauthorized: 401,
  forbidden: 403,
  ip_not_allowed: 403,
  rate_limited: 429,
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

/** Fastify's own errors (body too large, bad JSON, …) as RelctlErrors (outages: see fromSituation). */
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

/** Seconds a client is asked to wait (Retry-After) after any 503. */
export const RETRY_AFTER_SECONDS = 2;

const RETRY_HINT = `retry after ${RETRY_AFTER_SECONDS} s; a POST is safe to retry only with its Idempotency-Key (a retry with it replays the first answer and never applies twice)`;

/** How far a failed request got (see deadline.ts), for what its answer may claim. */
export interface RequestSituation {
  readonly write: boolean;
  readonly idempotencyKey: boolean;
  readonly handlerStarted: boolean;
  /** A write that may have committed: its handler ran, and it is not known to have stopped before COMMIT. */
  readonly mayHaveCommitted: boolean;
}

const NOT_STARTED: RequestSituation = {
  write: false,
  idempotencyKey: false,
  handlerStarted: false,
  mayHaveCommitted: false,
};

/**
 * A write whose answer cannot say whether it was applied. With its Idempotency-Key, a retry
 * replays what the first attempt did (the key is stored in the write's own transaction).
 */
function outcomeUnknown(why: string, situation: RequestSituation, cause: unknown): ExternalError {
  return new ExternalError(
    "outcome_unknown",
    `${why}: the write may have been applied, its outcome is unknown`,
    {
      cause,
      hint: situation.idempotencyKey
        ? "retry with the same Idempotency-Key: it replays the answer and never applies the write twice"
        : "it was sent without an Idempotency-Key: check the release (GET /release/:id, GET /releases) before sending it again",
    },
  );
}

/** Errors that say nothing of the request itself: the deadline, the database's outages. */
function fromSituation(err: unknown, situation: RequestSituation): RelctlError | undefined {
  const e = err as { code?: unknown; ms?: unknown };
  if (e?.code === "RELCTL_DEADLINE_EXCEEDED") {
    const why = `the request did not finish within ${String(e.ms)} ms`;
    if (
      situation.write &&
      situation.handlerStarted &&
      (situation.mayHaveCommitted || situation.idempotencyKey)
    ) {
      return outcomeUnknown(why, situation, err);
    }
    return new ExternalError(
      "deadline_exceeded",
      `${why} (the database may be slow or down); it changed nothing`,
      {
        cause: err,
        hint: RETRY_HINT,
      },
    );
  }
  // A RelctlError already says what failed (POST /alerts' alert_not_recorded, say).
  if (isRelctlError(err)) return undefined;
  const outage = databaseOutageOf(err);
  if (!outage) return undefined;
  // A lost connection may have taken a COMMIT with it; a route of several transactions may have
  // committed one before another failed.
  if (situation.mayHaveCommitted)
    return outcomeUnknown("database: the connection failed during the write", situation, err);
  const unavailable = toDatabaseUnavailable(err)!;
  return new ExternalError(unavailable.code, unavailable.message, {
    cause: err,
    hint: RETRY_HINT,
    details: unavailable.details,
  });
}

/**
 * The one place errors become HTTP answers: status by code, else by kind; body `{error: {...}}`;
 * every 503 with Retry-After. `situation` (see deadline.ts) says how far the request got, so that
 * a write that may have been applied is never answered as one that was not.
 */
export function httpErrorResponse(
  err: unknown,
  situation: RequestSituation = NOT_STARTED,
): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
  const error = fromSituation(err, situation) ?? fromFrameworkError(err);
  const status = BY_CODE[error.code] ?? BY_KIND[error.kind];
  const body =
    error.kind === "bug"
      ? { error: { code: error.code, kind: "bug", message: "internal error" } }
      : error.toJSON();
  const retryAfter =
    status === 503
      ? RETRY_AFTER_SECONDS
      : status === 429
        ? ((error.details as { retry_after?: number } | undefined)?.retry_after ?? 60)
        : undefined;
  return { status, body, headers: retryAfter === undefined ? {} : { "retry-after": String(retryAfter) } };
}
