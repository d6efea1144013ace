import { randomBytes } from "node:crypto";
import {
  ExternalError,
  isReleaseStatus,
  type RelctlError,
  type ReleaseStatus,
  StateError,
  UsageError,
} from "@relctl/core";

/** A release as the approvals service answers it (the seed's data model, snake_case). */
export interface RemoteRelease {
  readonly id: number;
  readonly service: string;
  readonly tag: string;
  readonly status: ReleaseStatus;
  readonly rollbackToTag: string | null;
  readonly initiatedBy: string | null;
  readonly approvals: readonly {
    readonly role: string;
    readonly state: string;
    readonly approvedBy: readonly string[];
  }[];
}

export interface CreateReleaseRequest {
  readonly service: string;
  readonly tag: string;
  readonly initiatedBy?: string;
  readonly githubRunId?: string;
  readonly githubActionLink?: string;
  readonly githubRef?: string;
  /** Makes a retried create (a re-run of the same job) return the same release. */
  readonly idempotencyKey?: string;
}

export interface UpdateStatusRequest {
  readonly releaseId: number;
  readonly status: ReleaseStatus;
  readonly rollbackToTag?: string | null;
  readonly githubActionLink?: string;
}

/** The approvals service's HTTP API, as the workflow uses it. */
export interface ApprovalsApi {
  createRelease(request: CreateReleaseRequest): Promise<RemoteRelease & { created: boolean }>;
  updateStatus(request: UpdateStatusRequest): Promise<RemoteRelease>;
  getRelease(id: number): Promise<RemoteRelease>;
  findRelease(service: string, tag: string): Promise<RemoteRelease | undefined>;
}

export interface ApprovalsClientOptions {
  readonly url: string;
  /**
   * The bearer of each request: the API token, or a new OIDC ID token per request (each is used
   * once; a retry asks for another).
   */
  readonly bearer: () => Promise<string>;
  /** The bearers are ID tokens: no Idempotency-Key is sent (the service takes none with them). */
  readonly idTokens?: boolean;
  /** W3C trace id carried to the service in `traceparent`. */
  readonly traceId: string;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

const RETRY_DELAYS_MS = [500, 1500];

/** The service's answer for a release, checked field by field. */
export function parseRemoteRelease(body: unknown): RemoteRelease {
  const b = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  const id = Number(b.release_id ?? b.id);
  const status = b.status;
  if (!Number.isSafeInteger(id) || id <= 0 || typeof status !== "string" || !isReleaseStatus(status)) {
    throw new ExternalError("api_bad_answer", "approvals service: the answer has no release_id and status");
  }
  const approvals = Array.isArray(b.approvals)
    ? b.approvals.flatMap((a) => {
        const x = (a ?? {}) as Record<string, unknown>;
        return typeof x.role === "string" && typeof x.state === "string"
          ? [
              {
                role: x.role,
                state: x.state,
                approvedBy: Array.isArray(x.approved_by) ? x.approved_by.map(String) : [],
              },
            ]
          : [];
      })
    : [];
  return {
    id,
    service: String(b.service_name ?? b.service ?? ""),
    tag: String(b.release_tag ?? b.tag ?? ""),
    status,
    rollbackToTag: typeof b.rollback_to_tag === "string" ? b.rollback_to_tag : null,
    initiatedBy: typeof b.initiated_by === "string" ? b.initiated_by : null,
    approvals,
  };
}

/**
 * Talks to the approvals service with its bearer token. Requests that could not have been acted
 * on (no connection, 502/503/504, 429) are retried twice; errors name the request and the
 * service's one-line reason, never the token.
 */
export function createApprovalsClient(options: ApprovalsClientOptions): ApprovalsApi {
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const timeoutMs = options.timeoutMs ?? 15_000;

  async function call(
    method: "GET" | "POST" | "PATCH",
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<unknown> {
    const what = `${method} ${path.split("?")[0]}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      const token = await options.bearer();
      try {
        response = await doFetch(`${options.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            traceparent: `00-${options.traceId}-${randomBytes(8).toString("hex")}-01`,
            "user-agent": "relctl-action",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...headers,
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
        const refused = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET/.test(e.cause?.code ?? "");
        if (!timedOut && attempt < RETRY_DELAYS_MS.length && (refused || method === "GET")) {
          await sleep(RETRY_DELAYS_MS[attempt]!);
          continue;
        }
        throw new ExternalError(
          "api_unreachable",
          `approvals service: ${what} failed: ${timedOut ? `no answer in ${Math.round(timeoutMs / 1000)}s` : (e.cause?.code ?? "cannot connect")}`,
          { hint: "check api-url and that the service is reachable from the runner" },
        );
      }
      const text = await response.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      if (response.ok) return json;
      if ([429, 502, 503, 504].includes(response.status) && attempt < RETRY_DELAYS_MS.length) {
        await sleep(RETRY_DELAYS_MS[attempt]!);
        continue;
      }
      throw apiError(what, response.status, json, token, options.idTokens === true);
    }
  }

  return {
    async createRelease(request) {
      const body = await call(
        "POST",
        "/release",
        {
          service: request.service,
          tag: request.tag,
          ...(request.initiatedBy ? { initiated_by: request.initiatedBy } : {}),
          ...(request.githubRunId ? { github_run_id: request.githubRunId } : {}),
          ...(request.githubActionLink ? { github_action_link: request.githubActionLink } : {}),
          ...(request.githubRef ? { github_ref: request.githubRef.slice(0, 255) } : {}),
        },
        request.idempotencyKey && !options.idTokens ? { "idempotency-key": request.idempotencyKey } : {},
      );
      const created = Boolean((body as { created?: unknown } | undefined)?.created);
      return { ...parseRemoteRelease(body), created };
    },
    async updateStatus(request) {
      return parseRemoteRelease(
        await call("PATCH", "/release", {
          release_id: request.releaseId,
          status: request.status,
          ...(request.rollbackToTag ? { rollback_to_tag: request.rollbackToTag } : {}),
          ...(request.githubActionLink ? { github_action_link: request.githubActionLink } : {}),
        }),
      );
    },
    async getRelease(id) {
      return parseRemoteRelease(await call("GET", `/release/${id}`));
    },
    async findRelease(service, tag) {
      const body = (await call("GET", `/releases?service=${encodeURIComponent(service)}&limit=500`)) as
        | { releases?: unknown[] }
        | undefined;
      const found = (body?.releases ?? []).map(parseRemoteRelease).find((r) => r.tag === tag);
      return found ? this.getRelease(found.id) : undefined;
    },
  };
}

function apiError(what: string, status: number, body: unknown, token: string, idToken: boolean): RelctlError {
  const e = ((body as { error?: Record<string, unknown> } | undefined)?.error ?? {}) as Record<
    string,
    unknown
  >;
  const reason = typeof e.message === "string" ? e.message.split("\n")[0]!.slice(0, 300) : `HTTP ${status}`;
  const message = `approvals service: ${what}: ${status} ${reason}`.split(token).join("[REDACTED]");
  const hint = typeof e.hint === "string" ? e.hint.split(token).join("[REDACTED]") : undefined;
  if (status === 401 || status === 403) {
    return new UsageError("api_refused", message, {
      hint:
        hint ??
        (idToken
          ? "check the service's claims policy for this workflow: relctl oidc list"
          : "check api-token: it must be an active token allowed for this service"),
    });
  }
  if (status === 409) return new StateError("api_conflict", message, hint ? { hint } : {});
  if (status >= 400 && status < 500) return new UsageError("api_rejected", message, hint ? { hint } : {});
  return new ExternalError("api_failed", message, hint ? { hint } : {});
}
