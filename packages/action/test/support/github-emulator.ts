import { type LoopbackServer, startLoopbackServer } from "./loopback-server.js";

export interface EmulatedDeployment {
  readonly id: number;
  readonly ref: string;
  readonly environment: string;
  readonly task: string;
  readonly description: string;
  readonly payload: unknown;
  readonly production_environment: boolean;
  readonly created_at: string;
  readonly statuses: {
    id: number;
    state: string;
    description: string;
    environment: string;
    log_url?: string;
  }[];
}

export interface GithubEmulator extends LoopbackServer {
  readonly deployments: EmulatedDeployment[];
  deploymentsOf(environment: string): EmulatedDeployment[];
}

/**
 * GitHub's Deployments API on loopback, for Octokit's `baseUrl`: create and list deployments and
 * their statuses. Like GitHub, a `success` with auto_inactive marks the earlier successful
 * deployments of a non-production environment `inactive`.
 */
export async function startGithubEmulator(): Promise<GithubEmulator> {
  const deployments: EmulatedDeployment[] = [];
  let nextId = 1000;
  const repoPath = /^\/repos\/([^/]+)\/([^/]+)\/deployments(?:\/(\d+)(\/statuses)?)?$/;
  const server = await startLoopbackServer((req) => {
    const m = repoPath.exec(req.path);
    if (!m) return undefined;
    const id = m[3] ? Number(m[3]) : undefined;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (req.method === "POST" && id === undefined) {
      const d: EmulatedDeployment = {
        id: nextId++,
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
      const status = {
        id: nextId++,
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
              id: nextId++,
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
  });
  return Object.assign(server, {
    deployments,
    deploymentsOf: (environment: string) => deployments.filter((d) => d.environment === environment),
  });
}
