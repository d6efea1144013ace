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

/** Starts a GitHub Actions workflow (`workflow_dispatch`). */
export interface WorkflowDispatcher {
  dispatch(request: WorkflowDispatch): Promise<void>;
}

export interface GithubOptions {
  readonly token: string;
  /** API root; default https://api.github.com (tests point it at an emulator). */
  readonly baseUrl?: string;
  readonly timeoutMs?: number;
  /** Hears each API call when it ends (metrics): its route template, status (null: no answer), time. */
  readonly onCall?: (call: GithubCall) => void;
}

export interface GithubCall {
  readonly method: string;
  /** The route template ("/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"). */
  readonly route: string;
  readonly status: number | null;
  readonly seconds: number;
}

/**
 * The Octokit adapter. Failures become ExternalError with `details.retryable` (the request was
 * refused before anything started: 5xx, 429, connection refused) or `details.ambiguous` (no answer:
 * it may have started). The token never appears in messages.
 */
export function createGithubWorkflowDispatcher(options: GithubOptions): WorkflowDispatcher {
  // Octokit is loaded on first use: commands that never call GitHub do not pay for it.
  let client: Promise<Octokit> | undefined;
  const octokit = () =>
    (client ??= import("@octokit/rest")
      .then(
        ({ Octokit }) =>
          new Octokit({
            auth: options.token,
            userAgent: "relctl",
            ...(options.baseUrl ? { baseUrl: options.baseUrl.replace(/\/+$/, "") } : {}),
            log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
          }),
      )
      .then((client) => (tracingEnabled() ? traceGithubCalls(client) : client))
      .then((client) => (options.onCall ? observeGithubCalls(client, options.onCall) : client)));
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
          request: { signal: AbortSignal.timeout(timeoutMs) },
        });
      } catch (err) {
        throw githubError(err, `workflow_dispatch of ${d.workflow} on ${d.owner}/${d.repo}`, options.token);
      }
    },
  };
}

export function githubError(err: unknown, what: string, token: string): ExternalError {
  const e = err as { status?: number; name?: string; message?: string; cause?: { code?: string } };
  const status = typeof e.status === "number" && e.status > 0 ? e.status : undefined;
  const aborted =
    e.name === "AbortError" || e.name === "TimeoutError" || /aborted|timeout/i.test(e.message ?? "");
  const refused = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(`${e.cause?.code ?? ""} ${e.message ?? ""}`);
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
function traceGithubCalls(client: Octokit): Octokit {
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
  return client;
}

/** Tells `onCall` of every API call when it ends, answered or not. */
function observeGithubCalls(client: Octokit, onCall: (call: GithubCall) => void): Octokit {
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
  return client;
}
