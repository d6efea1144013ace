import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { getIDToken } from "@actions/core";
import {
  type Actor,
  createExecutor,
  type Executor,
  ExternalError,
  type Interruption,
  MemoryReleaseStore,
  MemoryRunStore,
  type RunbookDeps,
  type ServiceConfig,
  UsageError,
} from "@relctl/core";
import { type ApprovalsApi, createApprovalsClient } from "./approvals-client.js";
import { importDeploymentHistory, type PastDeployment, planDeploymentHistory } from "./deployment-history.js";
import {
  createGithubDeployments,
  type DeploymentState,
  type DeploymentsApi,
  type RelctlDeploymentPayload,
} from "./github-deployments.js";
import { applyHostCredentials, configSecrets } from "./host-credentials.js";
import type { ActionInputs } from "./inputs.js";
import { LogReporter } from "./log-reporter.js";
import { KEY_DIRS_STATE } from "./post-step.js";
import type { ActionIo } from "./runner-io.js";
import { loadEnvironmentConfig } from "./service-config.js";
import { StatusMirror } from "./status-mirror.js";
import type { WorkflowContext } from "./workflow-context.js";

/** Said in the summary of every run without the approvals service. */
export const WITHOUT_SERVICE_NOTICE =
  "No approvals service is configured (api-url): this release is not recorded anywhere but in this job and in GitHub Deployments, nobody is asked to approve it, and there is no release history. Approvals, release history and one-click rollbacks need the approvals service.";

/** Adapters a test may replace; by default the real ones. */
export interface SessionAdapters {
  readonly executor?: Executor;
  readonly fetch?: typeof fetch;
  /** The runner's ID token for an audience (default @actions/core's getIDToken). */
  readonly getIdToken?: (audience: string) => Promise<string>;
}

/**
 * A new OIDC ID token from the runner (`core.getIDToken`: ACTIONS_ID_TOKEN_REQUEST_URL and
 * _TOKEN, which GitHub gives a job with `permissions: id-token: write`); the runner masks it.
 */
async function idToken(audience: string, adapters: SessionAdapters): Promise<string> {
  if (!adapters.getIdToken && !process.env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    throw new UsageError("oidc_unavailable", "oidc: the runner gives this job no ID token", {
      hint: "add `permissions: id-token: write` to the job (or pass api-token instead of oidc)",
    });
  }
  try {
    return await (adapters.getIdToken ?? getIDToken)(audience);
  } catch (err) {
    throw new ExternalError(
      "oidc_unavailable",
      `oidc: the runner did not give an ID token: ${String((err as Error).message)
        .split("\n")[0]!
        .replace(/^Error message: /, "")}`,
    );
  }
}

/** Everything one run of the action works with. */
export class Session {
  readonly releases: MemoryReleaseStore;
  readonly runs = new MemoryRunStore();
  readonly reporter: LogReporter;
  readonly notices: string[] = [];
  readonly api: ApprovalsApi | undefined;
  readonly mirror: StatusMirror | undefined;
  readonly deployments: DeploymentsApi | undefined;
  readonly actor: Actor;
  private readonly executor: Executor;
  private readonly cleanups: (() => Promise<void>)[] = [];
  /** The folders of the SSH keys this session wrote. */
  private readonly keyDirs: string[] = [];

  constructor(
    readonly inputs: ActionInputs,
    readonly context: WorkflowContext,
    readonly io: ActionIo,
    readonly traceId: string,
    readonly env: NodeJS.ProcessEnv,
    adapters: SessionAdapters = {},
    private readonly interruption?: Interruption,
  ) {
    this.reporter = new LogReporter(io);
    this.actor = { user: context.actor ?? "github-actions", channel: "action", traceId };
    const api = inputs.api;
    this.api = api
      ? createApprovalsClient({
          url: api.url,
          bearer:
            api.token !== undefined ? async () => api.token! : () => idToken(api.oidcAudience!, adapters),
          idTokens: api.token === undefined,
          traceId,
          ...(adapters.fetch ? { fetch: adapters.fetch } : {}),
        })
      : undefined;
    this.mirror = this.api ? new StatusMirror(this.api, io, context.runUrl) : undefined;
    this.releases = new MemoryReleaseStore(this.mirror?.onTransition);
    if (inputs.deployments) {
      if (!inputs.githubToken) {
        throw new UsageError("input_required", "github-token: required to record GitHub Deployments", {
          hint: "leave github-token at its default, or set deployments: false",
        });
      }
      if (!context.repository) {
        throw new UsageError(
          "not_in_workflow",
          "GITHUB_REPOSITORY is not set: GitHub Deployments need the repository",
          {
            hint: "set deployments: false outside GitHub Actions",
          },
        );
      }
      this.deployments = createGithubDeployments({
        token: inputs.githubToken,
        baseUrl: context.apiUrl,
        ...context.repository,
      });
    }
    this.executor = adapters.executor ?? createExecutor();
  }

  /** The runbook ports: the job's stores, the SSH executor, the log reporter. */
  runbookDeps(): RunbookDeps {
    return {
      releases: this.releases,
      runs: this.runs,
      executor: this.executor,
      reporter: this.reporter.report,
      ...(this.interruption ? { interruption: this.interruption } : {}),
    };
  }

  /**
   * relctl.yml for the session's environment, with the job's SSH key and known hosts applied and
   * every secret it holds masked.
   */
  async serviceConfig(): Promise<ServiceConfig> {
    const config = await loadEnvironmentConfig(
      this.inputs.configPath,
      this.context.workspace,
      this.inputs.environment,
      this.env,
    );
    for (const secret of configSecrets(config)) this.io.mask(secret);
    if (this.inputs.service && this.inputs.service !== config.service) {
      throw new UsageError(
        "service_mismatch",
        `service: "${this.inputs.service}" does not match ${config.file} (service: ${config.service})`,
      );
    }
    const privateKeyPath = this.inputs.sshPrivateKey
      ? await this.writePrivateKey(this.inputs.sshPrivateKey)
      : undefined;
    return applyHostCredentials(config, this.inputs.environment, {
      ...(privateKeyPath ? { privateKeyPath } : {}),
      ...(this.inputs.knownHosts ? { knownHosts: this.inputs.knownHosts } : {}),
    });
  }

  /**
   * Writes the key for the SSH executor into the runner's temporary folder (0600), removed at the
   * end. Its folder is saved for the post step before the key is written, so a step that is killed
   * (a cancelled job) leaves nothing the post step does not remove.
   */
  private async writePrivateKey(key: string): Promise<string> {
    const dir = await mkdtemp(join(this.context.tempDir, "relctl-"));
    this.keyDirs.push(dir);
    this.io.saveState?.(KEY_DIRS_STATE, JSON.stringify(this.keyDirs));
    this.cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, `id_${randomBytes(4).toString("hex")}`);
    await writeFile(file, key, { mode: 0o600 });
    return file;
  }

  /** What ran on the environment before this job, from GitHub Deployments (oldest first). */
  async readHistory(service: string): Promise<PastDeployment[]> {
    if (!this.deployments) return [];
    return planDeploymentHistory(await this.deployments.history(this.inputs.environment, service));
  }

  /** Puts the history into the job's run store; `releaseIds` links a tag to the job's copy of its release. */
  async importHistory(
    service: string,
    history: readonly PastDeployment[],
    releaseIds: ReadonlyMap<string, number> = new Map(),
  ): Promise<void> {
    const environment = this.inputs.environment;
    await importDeploymentHistory(this.runs, { service, environment }, history, releaseIds, {
      ...this.actor,
      user: "github-deployments",
    });
    if (history.length) {
      this.io.info(
        `relctl: what ran on ${environment} before, from GitHub Deployments: ${history.map((h) => `${h.tag} (schema ${h.schemaVersion ?? "-"})`).join(", ")}`,
      );
    }
  }

  /** Records the job's result as a GitHub Deployment of `payload.tag` with its final status. */
  async recordDeployment(
    payload: Omit<RelctlDeploymentPayload, "trace_id">,
    state: DeploymentState,
    description: string,
  ) {
    if (!this.deployments) return;
    const environment = this.inputs.environment;
    try {
      const id = await this.deployments.create({
        environment,
        ref: payload.tag,
        description,
        payload: { ...payload, trace_id: this.traceId },
      });
      await this.deployments.setStatus(id, {
        state,
        description,
        environment,
        ...(this.context.runUrl ? { logUrl: this.context.runUrl } : {}),
      });
    } catch (err) {
      // The hosts are already changed; say so, and do not fail a deploy that worked.
      this.io.warning(`GitHub Deployments: ${(err as Error).message}`);
      this.notices.push(`This run is missing from GitHub Deployments: ${(err as Error).message}`);
    }
  }

  async close(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await cleanup().catch(() => {});
  }
}
