import { getOctokit } from "@actions/github";
import { retry } from "@octokit/plugin-retry";
import { throttling } from "@octokit/plugin-throttling";
import { ExternalError, githubError, isValidTag } from "@relctl/core";

/** What relctl writes into a GitHub Deployment's payload, and reads back as history. */
export interface RelctlDeploymentPayload {
  readonly service: string;
  readonly tag: string;
  /** "deploy" or "rollback". */
  readonly kind: "deploy" | "rollback";
  /** The tag the environment ran before (a rollback goes back from it). */
  readonly from_tag: string | null;
  /** The schema version the tag runs with, recorded once the deploy succeeded. */
  readonly schema_version: string | null;
  readonly release_id: number | null;
  readonly trace_id: string;
}

export type DeploymentState = "queued" | "in_progress" | "success" | "failure" | "error" | "inactive";

/** One deployment of a service to an environment, as GitHub keeps it. */
export interface RecordedDeployment {
  readonly id: number;
  readonly environment: string;
  readonly createdAt: string;
  readonly payload: RelctlDeploymentPayload;
  /** The latest status; undefined when it has none. */
  readonly state: DeploymentState | undefined;
}

/** GitHub Deployments of the repository running the workflow. */
export interface DeploymentsApi {
  create(input: {
    environment: string;
    ref: string;
    description: string;
    payload: RelctlDeploymentPayload;
  }): Promise<number>;
  setStatus(
    id: number,
    input: { state: DeploymentState; description: string; environment: string; logUrl?: string },
  ): Promise<void>;
  /** relctl's deployments of `service` to `environment`, newest first (at most `limit`). */
  history(environment: string, service: string, limit?: number): Promise<RecordedDeployment[]>;
}

export interface GithubDeploymentsOptions {
  readonly token: string;
  readonly baseUrl: string;
  readonly owner: string;
  readonly repo: string;
  readonly timeoutMs?: number;
}

/** Reads a deployment payload written by relctl; anything else is not relctl's and is skipped. */
export function parseDeploymentPayload(value: unknown): RelctlDeploymentPayload | undefined {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  const relctl = (v as { relctl?: unknown } | null)?.relctl as Record<string, unknown> | undefined;
  if (!relctl || typeof relctl !== "object") return undefined;
  const { service, tag, kind } = relctl;
  if (typeof service !== "string" || !isValidTag(tag) || (kind !== "deploy" && kind !== "rollback"))
    return undefined;
  const schema = relctl.schema_version;
  return {
    service,
    tag,
    kind,
    from_tag: isValidTag(relctl.from_tag) ? relctl.from_tag : null,
    schema_version: typeof schema === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(schema) ? schema : null,
    release_id: typeof relctl.release_id === "number" ? relctl.release_id : null,
    trace_id: typeof relctl.trace_id === "string" ? relctl.trace_id : "",
  };
}

/** The Octokit adapter (GitHub's REST API; `baseUrl` is GITHUB_API_URL, an emulator in tests). */
export function createGithubDeployments(options: GithubDeploymentsOptions): DeploymentsApi {
  // Octokit's own plugins, as GitHub recommends for Actions: plugin-retry retries what failed on
  // GitHub's side (5xx, 429) with a growing wait, never a refusal (4xx); plugin-throttling waits
  // out a rate limit (Retry-After) and tries again, twice at most, for at most a minute.
  const limited = (retryAfter: number, _options: unknown, _octokit: unknown, retryCount: number) =>
    retryCount < 2 && retryAfter <= 60;
  const octokit = getOctokit(
    options.token,
    {
      baseUrl: options.baseUrl,
      userAgent: "relctl-action",
      log: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
      retry: { retries: 2 },
      throttle: { onRateLimit: limited, onSecondaryRateLimit: limited },
    },
    retry,
    throttling,
  );
  const repo = { owner: options.owner, repo: options.repo };
  const timeoutMs = options.timeoutMs ?? 15_000;
  const request = () => ({ signal: AbortSignal.timeout(timeoutMs) });
  const fail = (err: unknown, what: string): ExternalError => {
    const e = githubError(err, what, options.token);
    const status = (e.details as { status?: number } | undefined)?.status;
    return status === 403 || status === 404
      ? new ExternalError(e.code, e.message, {
          hint: "the job needs `permissions: deployments: write` (or set deployments: false)",
          details: e.details ?? {},
        })
      : e;
  };

  return {
    async create(input) {
      try {
        const res = await octokit.rest.repos.createDeployment({
          ...repo,
          ref: input.ref,
          environment: input.environment,
          description: input.description.slice(0, 140),
          auto_merge: false,
          required_contexts: [],
          transient_environment: false,
          production_environment: input.environment === "production",
          task: input.payload.kind === "rollback" ? "deploy:rollback" : "deploy",
          payload: { relctl: input.payload } as unknown as Record<string, unknown>,
          request: request(),
        });
        const id = (res.data as { id?: unknown }).id;
        if (typeof id !== "number")
          throw new ExternalError(
            "github_failed",
            `GitHub: creating a deployment of ${input.ref} to ${input.environment} was not done (${res.status})`,
          );
        return id;
      } catch (err) {
        if (err instanceof ExternalError) throw err;
        throw fail(err, `creating a deployment of ${input.ref} to ${input.environment}`);
      }
    },
    async setStatus(id, input) {
      try {
        await octokit.rest.repos.createDeploymentStatus({
          ...repo,
          deployment_id: id,
          state: input.state,
          description: input.description.slice(0, 140),
          environment: input.environment,
          auto_inactive: true,
          ...(input.logUrl ? { log_url: input.logUrl } : {}),
          request: request(),
        });
      } catch (err) {
        throw fail(err, `setting deployment ${id} to ${input.state}`);
      }
    },
    async history(environment, service, limit = 20) {
      let list: { id: number; created_at: string; payload: unknown }[];
      try {
        const res = await octokit.rest.repos.listDeployments({
          ...repo,
          environment,
          per_page: 100,
          request: request(),
        });
        list = res.data as typeof list;
      } catch (err) {
        throw fail(err, `reading the deployments of ${environment}`);
      }
      const ours = list
        .map((d) => ({ d, payload: parseDeploymentPayload(d.payload) }))
        .filter(
          (x): x is { d: (typeof list)[number]; payload: RelctlDeploymentPayload } =>
            x.payload?.service === service,
        )
        .sort((a, b) => b.d.id - a.d.id)
        .slice(0, limit);
      const out: RecordedDeployment[] = [];
      for (const { d, payload } of ours) {
        let state: DeploymentState | undefined;
        try {
          const res = await octokit.rest.repos.listDeploymentStatuses({
            ...repo,
            deployment_id: d.id,
            per_page: 1,
            request: request(),
          });
          state = (res.data[0]?.state as DeploymentState | undefined) ?? undefined;
        } catch (err) {
          throw fail(err, `reading the statuses of deployment ${d.id}`);
        }
        out.push({ id: d.id, environment, createdAt: d.created_at, payload, state });
      }
      return out;
    },
  };
}
