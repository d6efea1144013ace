import {
  type Answer,
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "./loopback-server.js";
import { OidcIssuer } from "./oidc-issuer.js";

/** A `workflow_dispatch` request, as the emulator received and answered it. */
export interface DispatchCall {
  readonly owner: string;
  readonly repo: string;
  readonly workflow: string;
  readonly body: { ref?: string; inputs?: Record<string, string> };
  readonly authorization: string | undefined;
  /** The HTTP status the emulator answered with (204: accepted). */
  status: number;
}

export interface DeploymentStatus {
  id: number;
  state: string;
  description: string;
  environment: string;
  log_url?: string;
}

export interface EmulatedDeployment {
  readonly id: number;
  readonly ref: string;
  readonly environment: string;
  readonly task: string;
  readonly description: string;
  readonly payload: unknown;
  readonly production_environment: boolean;
  readonly created_at: string;
  readonly statuses: DeploymentStatus[];
}

/** A workflow run a dispatch GitHub accepted started, as …/actions/workflows/{id}/runs lists it. */
export interface EmulatedRun {
  readonly id: number;
  readonly owner: string;
  readonly repo: string;
  readonly workflow: string;
  readonly head_branch: string;
  readonly event: "workflow_dispatch";
  readonly html_url: string;
  readonly created_at: string;
  readonly inputs: Record<string, string>;
}

/** GitHub's answer to a request over a secondary rate limit: 429 (or 403) with Retry-After. */
export function secondaryRateLimit(retryAfterSeconds = 1, status = 429): Answer {
  return {
    status,
    headers: { "retry-after": String(retryAfterSeconds) },
    body: {
      message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
      documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
    },
  };
}

/** What a proxy in front of GitHub answers when GitHub does not: 502. */
export function githubBadGateway(): Answer {
  return { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
}

const DISPATCHES = /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/;
const RUNS = /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/runs$/;
const DEPLOYMENTS = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)(\/statuses)?)?$/;

/**
 * GitHub's REST API on loopback, for Octokit's `baseUrl`, recording every request:
 * - `workflow_dispatch` (POST …/actions/workflows/{id}/dispatches), each call kept in `dispatches`;
 *   `script` may answer one with another status (5xx, 429, 404), or a whole answer (headers too:
 *   `secondaryRateLimit(seconds)`), instead of 204; each accepted one starts a run in `runs`,
 *   listed by GET …/actions/workflows/{id}/runs (newest first);
 * - the Deployments API: create and list deployments and their statuses. Like GitHub, a `success`
 *   with auto_inactive marks the earlier successful deployments of a non-production environment
 *   `inactive`.
 * - GitHub Actions' OIDC issuer at its root URL (`oidc`: discovery, JWKS, `oidc.mint(...)` for a
 *   token with chosen claims, `oidc.jobEndpoint(claims)` for the runner's getIDToken endpoint).
 * Any route can be made to fail with `failNext`. `new GithubEmulator().start()` or
 * `startGithubEmulator()`; `stop()` and `close()` are the same.
 */
export class GithubEmulator implements LoopbackServer {
  readonly dispatches: DispatchCall[] = [];
  readonly deployments: EmulatedDeployment[] = [];
  readonly runs: EmulatedRun[] = [];
  /** Consulted for every dispatch: a status or answer to give, or undefined to accept it (204). */
  script: ((call: DispatchCall) => number | Answer | undefined) | undefined;
  /** The OIDC issuer (its URL is the emulator's: RELCTL_OIDC_ISSUER). */
  readonly oidc = new OidcIssuer(() => this.url);
  private server: LoopbackServer | undefined;
  private nextId = 1000;

  get url(): string {
    return this.server?.url ?? "";
  }

  get requests(): RecordedRequest[] {
    return this.server?.requests ?? [];
  }

  async start(): Promise<this> {
    this.server = await startLoopbackServer((req) => this.answer(req));
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  close(): Promise<void> {
    return this.stop();
  }

  failNext(method: string, path: RegExp, answer: Answer, times?: number): void {
    if (!this.server) throw new Error("GitHub emulator: start() it first");
    this.server.failNext(method, path, answer, times);
  }

  /** Dispatches GitHub accepted (204). */
  accepted(): DispatchCall[] {
    return this.dispatches.filter((d) => d.status === 204);
  }

  deploymentsOf(environment: string): EmulatedDeployment[] {
    return this.deployments.filter((d) => d.environment === environment);
  }

  private answer(req: RecordedRequest): Answer | undefined | Promise<Answer | undefined> {
    if (req.path.startsWith("/.well-known/") || req.path === "/_apis/idtoken") return this.oidc.answer(req);
    const dispatch = DISPATCHES.exec(req.path);
    if (dispatch && req.method === "POST") return this.dispatch(req, dispatch);
    const runs = RUNS.exec(req.path);
    if (runs && req.method === "GET") return this.listRuns(req, runs);
    const deployment = DEPLOYMENTS.exec(req.path);
    if (deployment) return this.deployment(req, deployment);
    return undefined;
  }

  private dispatch(req: RecordedRequest, m: RegExpExecArray): Answer {
    const call: DispatchCall = {
      owner: m[1]!,
      repo: m[2]!,
      workflow: decodeURIComponent(m[3]!),
      body: (req.body ?? {}) as DispatchCall["body"],
      authorization: req.headers.authorization,
      status: 0,
    };
    this.dispatches.push(call);
    const scripted = this.script?.(call);
    const answer: Answer =
      scripted === undefined || scripted === 204
        ? { status: 204 }
        : typeof scripted === "number"
          ? { status: scripted, body: { message: "Server Error" } }
          : scripted;
    call.status = answer.status;
    if (answer.status === 204) {
      const id = this.nextId++;
      this.runs.push({
        id,
        owner: call.owner,
        repo: call.repo,
        workflow: call.workflow,
        head_branch: String(call.body.ref ?? "").replace(/^refs\/heads\//, ""),
        event: "workflow_dispatch",
        html_url: `https://github.com/${call.owner}/${call.repo}/actions/runs/${id}`,
        created_at: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        inputs: { ...(call.body.inputs ?? {}) },
      });
    }
    return answer;
  }

  private listRuns(req: RecordedRequest, m: RegExpExecArray): Answer {
    const [owner, repo, workflow] = [m[1]!, m[2]!, decodeURIComponent(m[3]!)];
    const branch = req.query.get("branch");
    const event = req.query.get("event");
    const since = /^>=(.+)$/.exec(req.query.get("created") ?? "")?.[1];
    const perPage = Number(req.query.get("per_page") ?? 30);
    const runs = this.runs
      .filter(
        (r) =>
          r.owner === owner &&
          r.repo === repo &&
          r.workflow === workflow &&
          (!branch || r.head_branch === branch) &&
          (!event || r.event === event) &&
          (!since || r.created_at >= since),
      )
      .sort((a, b) => b.id - a.id);
    return {
      status: 200,
      body: {
        total_count: runs.length,
        workflow_runs: runs.slice(0, perPage).map((r) => ({ ...r, status: "queued", conclusion: null })),
      },
    };
  }

  private deployment(req: RecordedRequest, m: RegExpExecArray): Answer | undefined {
    const deployments = this.deployments;
    const id = m[3] ? Number(m[3]) : undefined;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.method === "POST" && id === undefined) {
      const d: EmulatedDeployment = {
        id: this.nextId++,
        ref: String(body.ref),
        environment: String(body.environment),
        task: String(body.task ?? "deploy"),
        description: String(body.description ?? ""),
        payload: body.payload ?? {},
        production_environment: Boolean(body.production_environment),
        created_at: new Date().toISOString(),
        statuses: [],
      };
      deployments.push(d);
      return { status: 201, body: { ...d, statuses: undefined } };
    }
    if (req.method === "GET" && id === undefined) {
      const env = req.query.get("environment");
      const list = deployments.filter((d) => !env || d.environment === env).sort((a, b) => b.id - a.id);
      return { status: 200, body: list.map((d) => ({ ...d, statuses: undefined })) };
    }
    const d = deployments.find((x) => x.id === id);
    if (!d) return { status: 404, body: { message: "Not Found" } };
    if (req.method === "POST" && m[4]) {
      const status: DeploymentStatus = {
        id: this.nextId++,
        state: String(body.state),
        description: String(body.description ?? ""),
        environment: String(body.environment ?? d.environment),
        ...(typeof body.log_url === "string" ? { log_url: body.log_url } : {}),
      };
      if (status.state === "success" && body.auto_inactive !== false && !d.production_environment) {
        for (const other of deployments) {
          if (
            other !== d &&
            other.environment === d.environment &&
            other.statuses.at(-1)?.state === "success"
          ) {
            other.statuses.push({
              id: this.nextId++,
              state: "inactive",
              description: "",
              environment: other.environment,
            });
          }
        }
      }
      d.statuses.push(status);
      return { status: 201, body: status };
    }
    if (req.method === "GET" && m[4]) {
      const perPage = Number(req.query.get("per_page") ?? 30);
      return { status: 200, body: [...d.statuses].reverse().slice(0, perPage) };
    }
    return undefined;
  }
}

/** A started GitHub emulator. */
export function startGithubEmulator(): Promise<GithubEmulator> {
  return new GithubEmulator().start();
}
