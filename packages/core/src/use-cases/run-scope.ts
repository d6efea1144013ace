import type { EnvironmentConfig, EnvironmentHost, ServiceConfig } from "../config/load.js";
import type { ApprovalRecord } from "../domain/approvals.js";
import type { Actor, Release, TransitionFields } from "../domain/release.js";
import { describeLock, type Run, type RunKind, type RunStatus } from "../domain/run.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import { isRelctlError, StateError } from "../errors.js";
import type { Executor } from "../ports/executor.js";
import type { ReleasesPort, RunsPort } from "../ports/stores.js";
import type { ApplyContext } from "../runbook/apply.js";
import type { HealthProbe } from "../runbook/health.js";
import type { Interruption } from "../runbook/interruption.js";
import { requireEnvironment } from "../runbook/plan.js";
import { Runner, type RunReporter } from "../runbook/runner.js";

/** What a runbook reads and writes of releases (and their approvals, for the gates). */
export type RunbookReleases = ReleasesPort & {
  listApprovals(releaseId: number): Promise<readonly ApprovalRecord[]>;
};

export type RunbookRuns = RunsPort;

/**
 * A production deploy request (the approvals service's job outbox) a run started by hand takes
 * over, so the service's worker never starts the same deploy again.
 */
export interface DeployRequestsPort {
  takeOver(
    releaseId: number,
    environment: string,
    actor: Actor,
  ): Promise<{ finish(ok: boolean, error?: string): Promise<void> } | undefined>;
}

/** The ports a runbook needs; passed in, never imported. */
export interface RunbookDeps {
  readonly releases: RunbookReleases;
  readonly runs: RunbookRuns;
  readonly executor: Executor;
  readonly deployRequests?: DeployRequestsPort;
  readonly reporter?: RunReporter;
  /** SIGINT/SIGTERM received by the door (see Interruption). */
  readonly interruption?: Interruption;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly probe?: HealthProbe;
  /** Deploy lock lease (default 2 min, renewed every third of it); `wait` queues behind a holder. */
  readonly lock?: { readonly leaseMs?: number; readonly wait?: boolean; readonly waitTimeoutMs?: number };
}

export interface RunOutcome {
  readonly run: Run;
  readonly status: RunStatus;
  readonly release: Release | undefined;
  readonly previousTag: string | null;
  /** One line for people: what happened. */
  readonly message: string;
  /** What to do next, when something failed. */
  readonly hint?: string;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function errorLine(err: unknown): string {
  return isRelctlError(err) || err instanceof Error ? err.message : String(err);
}

/** Runs `fn` holding the deploy lock of (service, environment); refuses (or waits) when it is held. */
export async function withDeployLock<T>(
  deps: RunbookDeps,
  target: { service: string; environment: string; owner: string; reason: string },
  fn: () => Promise<T>,
): Promise<T> {
  const leaseMs = deps.lock?.leaseMs ?? 120_000;
  const sleep = deps.sleep ?? defaultSleep;
  const deadline = Date.now() + (deps.lock?.waitTimeoutMs ?? 30 * 60_000);
  let announced = false;
  for (;;) {
    const attempt = await deps.runs.tryAcquireLock({ ...target, leaseMs });
    if (attempt.acquired) {
      const lock = attempt.lock;
      const timer = setInterval(
        () => void deps.runs.renewLock(lock, leaseMs).catch(() => {}),
        Math.max(1000, leaseMs / 3),
      );
      timer.unref();
      try {
        return await fn();
      } finally {
        clearInterval(timer);
        await deps.runs.releaseLock(lock);
      }
    }
    const holder = describeLock(attempt.holder);
    if (!deps.lock?.wait || Date.now() > deadline) {
      throw new StateError("lock_held", `${target.service}/${target.environment} is locked by ${holder}`, {
        hint: `wait with --wait, or free a stale lock with: relctl lock release ${target.service} --env ${target.environment}`,
      });
    }
    if (!announced)
      deps.reporter?.({ type: "note", message: `waiting for the deploy lock held by ${holder}` });
    announced = true;
    await sleep(1000);
  }
}

/** One run of a runbook: its record, its runner (one session per host) and how it ends. */
export interface RunScope {
  readonly config: ServiceConfig;
  readonly env: EnvironmentConfig;
  readonly runner: Runner;
  readonly run: Run;
  readonly apply: ApplyContext;
  /** Records how the run ended and builds the outcome. */
  finish(result: {
    status: RunStatus;
    message: string;
    hint?: string | undefined;
    release: Release | undefined;
    previousTag: string | null;
  }): Promise<RunOutcome>;
  close(): Promise<void>;
}

export async function openRun(
  deps: RunbookDeps,
  config: ServiceConfig,
  environment: string,
  input: { kind: RunKind; releaseId: number | null; tag: string; fromTag: string | null; actor: Actor },
): Promise<RunScope> {
  const env = requireEnvironment(config, environment);
  const run = await deps.runs.createRun({
    ...input,
    service: config.service,
    environment,
    gated: env.role === "gated",
  });
  const runner = new Runner({
    executor: deps.executor,
    runs: deps.runs,
    runId: run.id,
    ...(deps.reporter ? { reporter: deps.reporter } : {}),
    ...(deps.interruption ? { interruption: deps.interruption } : {}),
    ...(input.actor.traceId && input.actor.spanId
      ? { trace: { traceId: input.actor.traceId, spanId: input.actor.spanId } }
      : {}),
  });
  const hosts = new Map<string, EnvironmentHost>(env.hosts.map((h) => [h.name, h]));
  return {
    config,
    env,
    runner,
    run,
    apply: {
      runner,
      hosts,
      switched: new Set(),
      ...(deps.probe ? { probe: deps.probe } : {}),
      ...(deps.sleep ? { sleep: deps.sleep } : {}),
    },
    async finish(result) {
      const { status, message, hint } = result;
      await deps.runs.finishRun(run.id, status, status === "succeeded" ? undefined : message);
      return {
        run: { ...run, status },
        status,
        release: result.release,
        previousTag: result.previousTag,
        message,
        ...(hint ? { hint } : {}),
      };
    },
    close: () => runner.close(),
  };
}

/** Connects to every host before anything changes; a refused host ends the run with nothing done. */
export async function connectOrFail(deps: RunbookDeps, scope: RunScope): Promise<void> {
  try {
    await scope.runner.connect(scope.env.hosts);
  } catch (err) {
    await scope.close();
    await deps.runs.finishRun(scope.run.id, "failed", errorLine(err));
    throw err;
  }
}

/** The release a run moves: its latest state, and the moves the plan gives (null: no move). */
export function trackRelease(deps: RunbookDeps, actor: Actor, initial: Release | undefined) {
  let current = initial;
  return {
    get current() {
      return current;
    },
    set current(r: Release | undefined) {
      current = r;
    },
    async move(to: ReleaseStatus | null, fields: TransitionFields = {}) {
      if (to && current) current = await deps.releases.transition(current.id, to, "runbook", actor, fields);
    },
  };
}

/** Reads an environment's deployment history with each release's status (for planVersions). */
export async function readHistory(
  deps: Pick<RunbookDeps, "runs" | "releases">,
  service: string,
  environment: string,
) {
  const history = await deps.runs.deploymentHistory(service, environment);
  const statuses = new Map<number, ReleaseStatus>();
  for (const d of history) {
    if (d.releaseId === null || statuses.has(d.releaseId)) continue;
    const r = await deps.releases.getRelease(d.releaseId);
    if (r) statuses.set(d.releaseId, r.status);
  }
  return { history, statusOf: (id: number) => statuses.get(id) };
}
