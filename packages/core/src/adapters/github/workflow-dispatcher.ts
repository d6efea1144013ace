import type { Octokit } from "@octokit/rest";
import { ExternalError } from "../../errors.js";
import { inSpan, SpanKind, tracingEnabled } from "../../telemetry.js";

export interface WorkflowDispatch {
  readonly owner: string;
  readonly repo: string;
  /** Workflow file name (deploy.yml) or id. */
  readonly workflow: string;
  readonly ref: string;
  readonly inputs: Readonly<Record<string, string>>;
}

/** A workflow run, as GitHub lists it. */
export interface WorkflowRun {
  readonly id: number;
  /** Its page on GitHub (…/actions/runs/<id>). */
  readonly url: string;
}

/** Starts a GitHub Actions workflow (`workflow_dispatch`), and finds the run it started. */
export interface WorkflowDispatcher {
  dispatch(request: WorkflowDispatch): Promise<void>;
  /**
   * The newest run of the workflow started by a dispatch on its ref since `since`, when GitHub
   * lists one yet (a read: retried on GitHub's 5xx).
   */
  findDispatchedRun?(request: WorkflowDispatch, since: Date): Promise<WorkflowRun | undefined>;
}

export interface GithubOptions {
  readonly token: string;
  /** API root; default https://api.github.com (tests point it at an emulator). */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Hears each API call when it ends (metrics): its route template, status (null: no answer), time. */
  readonly onCall?: (call: GithubCall) => void;
  /** The longest rate-limit wait (Retry-After) sat out in the process before the call fails; 60 s. */
  readonly maxRateLimitWaitSeconds?: number;
  /** Tries after the first for what GitHub surely did not do; 2. */
  readonly retries?: number;
}

export interface GithubCall {
  readonly method: string;
  /** The route template ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"). */
  readonly route: string;
  readonly status: number | null;
  readonly seconds: number;
}

/** Marks a request that must not be repeated on an answer that leaves open whether it was done. */
const NOT_IDEMPOTENT = "relctlNotIdempotent";

/**
 * Octokit's retry and throttling plugins, set for what a call may repeat:
 * - plugin-throttling sits out a rate limit GitHub states (a secondary limit's Retry-After, a
 *   primary one's reset), for any call, at most `retries` times and `maxRateLimitWaitSeconds` each:
 *   a limited request was refused before anything was done.
 * - plugin-retry repeats a read on a 5xx or no answer. A call marked NOT_IDEMPOTENT (a dispatch)
 *   is repeated only when it surely never reached GitHub (connection refused, no such host): a 5xx
 *   or a timeout may have started the workflow, so the error goes to the caller, whose durable
 *   path decides (the deploy worker's deduplicated request).
 * No refusal (4xx) is repeated.
 */
async function createOctokit(options: GithubOptions): Promise<Octokit> {
  const [{ Octokit }, { retry }, { throttling }] = await Promise.all([
    import("@octokit/rest"),
    import("@octokit/plugin-retry"),
    import("@octokit/plugin-throttling"),
  ]);
  const retries = options.retries ?? 2;
  const maxWait = options.maxRateLimitWaitSeconds ?? 60;
  const limited = (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
    retryCount < retries && retryAfter <= maxWait;
  // Runs innermost, before plugin-retry reads `request.retries`: a call that must not be repeated
  // is repeated only when it never left.
  const idempotence = (octokit: Pick<Octokit, "hook">) => {
    octokit.hook.error("request", (error, request) => {
      const r = request.request as Record<string, unknown> | undefined;
      if (r?.[NOT_IDEMPOTENT]) r.retries = neverReached(error) ? retries : 0;
      throw error;
    });
    return {};
  };
  // Inside the retries: every HTTP attempt is traced and counted, as GitHub saw it.
  const observed = (octokit: Pick<Octokit, "hook">) => {
    if (tracingEnabled()) traceGithubCalls(octokit);
    if (options.onCall) observeGithubCalls(octokit, options.onCall);
    return {};
  };
  const Client = Octokit.plugin(idempotence, observed, retry, throttling);
  return new Client({
    auth: options.token,
    userAgent: "relctl",
    ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, "") } : {}),
    log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    // 429 and 403 are throttling's (it knows a rate limit from a refusal); the rest as plugin-retry has them.
    retry: { retries, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
    throttle: { onRateLimit: limited, onSecondaryRateLimit: limited },
  }) as unknown as Octokit;
}

/** The request never reached GitHub: refused or unresolved, so nothing can have started. */
function neverReached(error: unknown): boolean {
  const e = error as {
    response?: unknown;
    message?: string;
    cause?: { code?: string; cause?: { code?: string } };
  };
  if (e.response !== undefined) return false;
  const codes = `${e.cause?.code ?? ""} ${e.cause?.cause?.code ?? ""} ${e.message ?? ""}`;
  return /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(codes);
}

/**
 * The Octokit adapter. Failures become ExternalError with `details.retryable` (the request was
 * refused before anything started: 5xx, 429, connection refused) or `details.ambiguous` (no answer:
 * it may have started). The token never appears in messages.
 */
export function createGithubWorkflowDispatcher(options: GithubOptions): WorkflowDispatcher {
  // Octokit is loaded on first use: commands that never call GitHub do not pay for it.
  let client: Promise<Octokit> | undefined;
  const octokit = () => (client ??= createOctokit(options));
  const timeoutMs = options.timeoutMs ?? 15_000;
  return {
    async dispatch(d) {
      try {
        await (await octokit()).rest.actions.createWorkflowDispatch({
          owner: d.owner,
          repo: d.repo,
          workflow_id: d.workflow,
          ref: d.ref,
          inputs: { ...d.inputs },
          request: { signal: AbortSignal.timeout(timeoutMs), [NOT_IDEMPOTENT]: true },
        });
      } catch (err) {
        throw githubError(err, `workflow_dispatch of ${d.workflow} on ${d.owner}/${d.repo}`, options.token);
      }
    },
    async findDispatchedRun(d, since) {
      try {
        const { data } = await (await octokit()).rest.actions.listWorkflowRuns({
          owner: d.owner,
          repo: d.repo,
          workflow_id: d.workflow,
          event: "workflow_dispatch",
          branch: d.ref.replace(/^refs\/heads\//, ""),
          created: `>=${new Date(since.getTime() - 1000).toISOString().replace(/\.\d{3}Z$/, "Z")}`,
          per_page: 5,
          request: { signal: AbortSignal.timeout(timeoutMs) },
        });
        const run = [...data.workflow_runs].sort((a, b) => b.id - a.id)[0];
        return run ? { id: run.id, url: run.html_url } : undefined;
      } catch (err) {
        throw githubError(err, `listing the runs of ${d.workflow} on ${d.owner}/${d.repo}`, options.token);
      }
    },
  };
}

export function githubError(err: unknown, what: string, token: string): ExternalError {
  const e = err as {
    status?: number;
    name?: string;
    message?: string;
    response?: unknown;
    cause?: { code?: string; cause?: { code?: string } };
  };
  // Octokit gives a request that got no answer (refused, timed out) status 500 too: only an answer has one.
  const answered = e.response !== undefined || !("request" in (e as object));
  const status = answered && typeof e.status === "number" && e.status > 0 ? e.status : undefined;
  const aborted =
    e.name === "AbortError" || e.name === "TimeoutError" || /aborted|timeout/i.test(e.message ?? "");
  const refused = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(
    `${e.cause?.code ?? ""} ${e.cause?.cause?.code ?? ""} ${e.message ?? ""}`,
  );
  const retryable = status !== undefined ? status >= 500 || status === 429 : refused;
  const ambiguous = status === undefined && !refused;
  const reason = status
    ? `${status} ${(e.message ?? "").split(" - ")[0]?.split("\n")[0] ?? ""}`.trim()
    : aborted
      ? "no answer in time"
      : "could not reach GitHub";
  const message = `GitHub: ${what} failed: ${reason}`.split(token).join("[REDACTED]");
  return new ExternalError("github_failed", message, {
    details: { status: status ?? null, retryable, ambiguous },
    hint:
      status === 401 || status === 403
        ? "check GITHUB_TOKEN and its permissions (actions: write)"
        : undefined,
  });
}

/** A CLIENT span per GitHub API call (HTTP client conventions; the route template, not the URL). */
function traceGithubCalls(client: Pick<Octokit, "hook">): void {
  client.hook.wrap("request", (request, options) => {
    const method = String(options.method ?? "GET");
    const template = String(options.url ?? "");
    const url = new URL(String(options.baseUrl ?? "https://api.github.com"));
    return inSpan(
      `${method} ${template}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "http.request.method": method,
          "url.template": template,
          "server.address": url.hostname,
          ...(url.port ? { "server.port": Number(url.port) } : {}),
        },
      },
      async (span) => {
        try {
          const response = await request(options);
          span.setAttribute("http.response.status_code", response.status);
          return response;
        } catch (err) {
          const status = (err as { status?: number }).status;
          if (typeof status === "number") span.setAttribute("http.response.status_code", status);
          throw err;
        }
      },
    );
  });
}

/** Tells `onCall` of every API call when it ends, answered or not. */
function observeGithubCalls(client: Pick<Octokit, "hook">, onCall: (call: GithubCall) => void): void {
  client.hook.wrap("request", async (request, options) => {
    const started = performance.now();
    const call = (status: number | null) => ({
      method: String(options.method ?? "GET"),
      route: String(options.url ?? ""),
      status,
      seconds: (performance.now() - started) / 1000,
    });
    try {
      const response = await request(options);
      onCall(call(response.status));
      return response;
    } catch (err) {
      const status = (err as { status?: number }).status;
      onCall(call(typeof status === "number" && status > 0 ? status : null));
      throw err;
    }
  });
}
