import type { EnvironmentConfig, EnvironmentHost, ServiceConfig } from "../config/load.js";
import type { ApprovalRecord } from "../domain/approvals.js";
import type { Actor, Release, TransitionFields } from "../domain/release.js";
import { type DeployLock, describeLock, type Run, type RunKind, type RunStatus } from "../domain/run.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import { isRelctlError, StateError } from "../errors.js";
import type { Executor } from "../ports/executor.js";
import type { ReleasesPort, RunsPort } from "../ports/stores.js";
import type { ApplyContext } from "../runbook/apply.js";
import { forEachAtOnce } from "../runbook/at-once.js";
import type { HealthProbe } from "../runbook/health.js";
import { Interruption } from "../runbook/interruption.js";
import { layoutOf } from "../runbook/layout.js";
import { requireEnvironment } from "../runbook/plan.js";
import { Runner, type RunReporter } from "../runbook/runner.js";
import { planEndGroupStep } from "../runbook/steps.js";
import { inUseCaseSpan, SpanStatusCode } from "../telemetry.js";

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
  /**
   * A rollback run opens a rollback request for its service and environment while it lives, so
   * a rollback asked for from the chat (or another relctl) meanwhile is refused, naming it;
   * refused itself (StateError rollback_in_progress) when one is open.
   */
  openRollback?(
    input: { releaseId: number; service: string; environment: string; toTag: string },
    actor: Actor,
  ): Promise<{ finish(ok: boolean, error?: string): Promise<void> }>;
}

/** The ports a runbook needs; passed in, never imported. */
export interface RunbookDeps {
  readonly releases: RunbookReleases;
  readonly runs: RunbookRuns;
  readonly executor: Executor;
  readonly deployRequests?: DeployRequestsPort;
  readonly reporter?: RunReporter;
  /** Appends an audit event (an override, …); the PostgreSQL store's appendAudit. */
  readonly audit?: (actor: Actor, action: string, releaseId: number | null, after: unknown) => Promise<void>;
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

/**
 * A deploy's or rollback's span (`relctl deploy <service> <environment>`), a child of the actor's
 * operation and the parent of the run's steps: `fn` gets the actor carrying it. It says the
 * service, environment, tag, release and run, and the outcome (status ERROR unless it succeeded).
 */
export function inRunSpan(
  kind: RunKind,
  input: {
    readonly config: ServiceConfig;
    readonly environment: string;
    readonly tag: string;
    readonly actor: Actor;
  },
  fn: (actor: Actor) => Promise<RunOutcome>,
): Promise<RunOutcome> {
  return inUseCaseSpan(
    `relctl ${kind} ${input.config.service} ${input.environment}`,
    input.actor,
    {
      "relctl.service": input.config.service,
      "relctl.environment": input.environment,
      "relctl.tag": input.tag,
    },
    async (actor, span) => {
      const outcome = await fn(actor);
      span.setAttributes({
        "relctl.outcome": outcome.status,
        "relctl.run_id": outcome.run.id,
        ...(outcome.release ? { "relctl.release_id": outcome.release.id } : {}),
        ...(outcome.previousTag ? { "relctl.from_tag": outcome.previousTag } : {}),
      });
      span.setStatus(
        outcome.status === "succeeded"
          ? { code: SpanStatusCode.OK }
          : { code: SpanStatusCode.ERROR, message: outcome.message },
      );
      return outcome;
    },
  );
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function errorLine(err: unknown): string {
  return isRelctlError(err) || err instanceof Error ? err.message : String(err);
}

/** The deploy lock a run holds, and what came with it. */
export interface HeldLock {
  readonly lock: DeployLock;
  /** The dead holder whose lock this run took over: its steps must be ended on the hosts first. */
  readonly tookOver: DeployLock | undefined;
  /** Interrupted by a signal, or by `relctl abort` from elsewhere (seen at a heartbeat). */
  readonly interruption: Interruption;
  /** The lock is held by this run: a takeover closes the dead one as interrupted. */
  attach(runId: number): Promise<void>;
}

/** How long a holder lives without a heartbeat (RELCTL_LOCK_DEAD_AFTER); it beats every third of it, at most every 5 s. */
export const DEFAULT_LOCK_DEAD_AFTER_MS = 30_000;

/**
 * Runs `fn` holding the deploy lock of (service, environment); refuses (or waits) while a live
 * holder has it. The lock beats while `fn` runs; a holder whose heartbeat stopped is dead and its
 * lock is taken over (its run is closed as interrupted). At each heartbeat the holder looks for an
 * abort asked by another relctl (`relctl abort`) and interrupts its own run.
 */
export async function withDeployLock<T>(
  deps: RunbookDeps,
  target: { service: string; environment: string; owner: string; reason: string },
  fn: (held: HeldLock) => Promise<T>,
): Promise<T> {
  const leaseMs = deps.lock?.leaseMs ?? DEFAULT_LOCK_DEAD_AFTER_MS;
  const sleep = deps.sleep ?? defaultSleep;
  const deadline = Date.now() + (deps.lock?.waitTimeoutMs ?? 30 * 60_000);
  const interruption = deps.interruption ?? new Interruption();
  let announced = false;
  for (;;) {
    const attempt = await deps.runs.tryAcquireLock({ ...target, leaseMs });
    if (attempt.acquired) {
      const lock = attempt.lock;
      let runId: number | undefined;
      const beat = async () => {
        await deps.runs.renewLock(lock, leaseMs);
        const by = runId === undefined ? null : await deps.runs.abortRequestedBy(runId);
        if (by && interruption.count === 0) {
          deps.reporter?.({ type: "note", message: `${by} asked this run to abort (relctl abort)` });
          interruption.interrupt("SIGTERM");
        }
      };
      const timer = setInterval(
        () => void beat().catch(() => {}),
        Math.min(5000, Math.max(500, leaseMs / 3)),
      );
      timer.unref();
      try {
        return await fn({
          lock,
          tookOver: attempt.tookOver,
          interruption,
          async attach(id) {
            runId = id;
            await deps.runs.setLockRun(lock, id);
            if (attempt.tookOver?.runId) {
              await deps.runs.finishRun(
                attempt.tookOver.runId,
                "interrupted",
                `its holder stopped (${describeLock(attempt.tookOver)}); run ${id} took over`,
              );
            }
          },
        });
      } finally {
        clearInterval(timer);
        await deps.runs.releaseLock(lock);
      }
    }
    const holder = describeLock(attempt.holder);
    if (!deps.lock?.wait || Date.now() > deadline) {
      throw new StateError("lock_held", `${target.service}/${target.environment} is locked by ${holder}`, {
        hint:
          attempt.holder.expiresAt === null
            ? `it was taken by hand; free it when the work is done: relctl lock release ${target.service} --env ${target.environment}`
            : `wait with --wait, or abort it: relctl abort ${target.service} --env ${target.environment}`,
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
  held: HeldLock,
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
  await held.attach(run.id);
  await deps.runs.setHostLockToken(run.id, held.lock.token);
  const runner = new Runner({
    executor: deps.executor,
    runs: deps.runs,
    runId: run.id,
    interruption: held.interruption,
    parallel: env.parallel,
    ...(deps.reporter ? { reporter: deps.reporter } : {}),
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
      slots: new Map(),
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

/**
 * Has the executor load what connecting to the environment's hosts needs (see Executor.prepare),
 * as a run starts: the loading overlaps the run's database reads, and no host is contacted. An
 * unknown environment prepares nothing (the run refuses it next).
 */
export function prepareHosts(
  deps: Pick<RunbookDeps, "executor">,
  config: ServiceConfig,
  environment: string,
): void {
  const hosts = config.environments[environment]?.hosts;
  if (hosts) deps.executor.prepare?.(hosts);
}

/**
 * Connects to every host (at once) before anything changes; a refused host ends the run with
 * nothing done.
 * After taking over a dead holder's lock, first ends whatever of its steps still runs on each host
 * (and confirms it): nothing runs beside a step it did not start.
 */
export async function connectOrFail(
  deps: RunbookDeps,
  scope: RunScope,
  held: HeldLock,
  endOrphans = held.tookOver !== undefined,
): Promise<void> {
  try {
    await scope.runner.connect(scope.env.hosts);
    const tookOverHosts = await scope.runner.lockHosts(scope.env.hosts, {
      token: held.lock.token,
      holder: `${held.lock.owner} (${held.lock.reason}), run ${scope.run.id}, on ${held.lock.hostname ?? "?"} pid ${held.lock.pid ?? "?"}`,
      deadAfterMs: deps.lock?.leaseMs ?? DEFAULT_LOCK_DEAD_AFTER_MS,
      ended: (token) => deps.runs.hostLockTokenEnded(token),
    });
    if (endOrphans && held.tookOver)
      await scope.runner.note(`took over the lock of a holder that stopped: ${describeLock(held.tookOver)}`);
    await forEachAtOnce(endOrphans ? scope.env.hosts : tookOverHosts, scope.runner.parallel, async (host) => {
      await scope.runner.must(host, planEndGroupStep(layoutOf(host.path).stepPid));
    });
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

/** Records that the environment runs `target` again (after a rollback or an abort). */
export function recordRestored(
  deps: Pick<RunbookDeps, "runs">,
  scope: RunScope,
  target: { readonly tag: string; readonly schemaVersion: string | null; readonly releaseId: number | null },
) {
  return deps.runs.recordDeployment({
    service: scope.config.service,
    environment: scope.env.name,
    releaseId: target.releaseId,
    tag: target.tag,
    schemaVersion: target.schemaVersion,
    runId: scope.run.id,
    previousState: "rolled_back",
  });
}

/**
 * After a rollback in a gated environment, deploys of the service there are held until a person
 * acknowledges it (relctl ack): the next release waits until someone has looked.
 */
export async function holdAfterRollback(
  deps: Pick<RunbookDeps, "runs">,
  scope: RunScope,
  release: Release | undefined,
  reason: string,
  actor: Actor,
): Promise<void> {
  if (scope.env.role !== "gated") return;
  await deps.runs.placeHold({
    service: scope.config.service,
    environment: scope.env.name,
    reason,
    releaseId: release?.id ?? null,
    by: actor.user,
  });
}
