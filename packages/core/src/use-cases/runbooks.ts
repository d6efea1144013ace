import type { Actor, Release, ReleaseStore, TransitionFields } from "../adapters/postgres/release-store.js";
import {
  type Deployment,
  describeLock,
  type Run,
  type RunStatus,
  type RunStore,
} from "../adapters/postgres/run-store.js";
import type { EnvironmentConfig, EnvironmentHost, ServiceConfig } from "../config/load.js";
import { validateTag } from "../domain/names.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import { ExternalError, isRelctlError, StateError, UsageError } from "../errors.js";
import type { Executor, Step, StepResult } from "../ports/executor.js";
import {
  bodyNamesVersion,
  defaultHealthProbe,
  type HealthProbe,
  healthUrlOf,
  planHostHealthStep,
} from "../runbook/health.js";
import { Runner, type RunReporter, StepFailedError, stepFailure } from "../runbook/runner.js";
import { parseCurrentLink, strategyFor } from "../runbook/steps.js";
import type { HostPlanContext, Strategy } from "../runbook/strategy.js";

/** What a runbook reads and writes of releases (ReleaseStore is the PostgreSQL adapter). */
export type RunbookReleases = Pick<
  ReleaseStore,
  "findRelease" | "getRelease" | "createRelease" | "transition"
>;

/** What a runbook reads and writes of runs, deployments and locks (RunStore is the PostgreSQL adapter). */
export type RunbookRuns = Pick<
  RunStore,
  | "createRun"
  | "setRunFromTag"
  | "setRunRelease"
  | "finishRun"
  | "recordStep"
  | "activeDeployment"
  | "deploymentHistory"
  | "recordDeployment"
  | "deployedRunTags"
  | "tryAcquireLock"
  | "renewLock"
  | "releaseLock"
>;

/** The ports a runbook needs; passed in, never imported. */
export interface RunbookDeps {
  readonly releases: RunbookReleases;
  readonly runs: RunbookRuns;
  readonly executor: Executor;
  readonly reporter?: RunReporter;
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

/** Releases whose production run ended badly are never offered as rollback targets. */
const BAD_STATUSES: readonly ReleaseStatus[] = [
  "production_failed",
  "production_rollback",
  "rollback_done",
  "rollback_failed",
];

export const PRODUCTION = "production";

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function requireEnvironment(config: ServiceConfig, name: string): EnvironmentConfig {
  const env = config.environments[name];
  if (!env) {
    const known = Object.keys(config.environments);
    throw new UsageError(
      "unknown_environment",
      `env: "${name}" is not configured for ${config.service} (configured: ${known.length ? known.join(", ") : "none"})`,
    );
  }
  return env;
}

function hostContext(config: ServiceConfig, env: EnvironmentConfig, host: EnvironmentHost): HostPlanContext {
  if (host.address !== "local" && !host.hostKey) {
    throw new UsageError("host_key_missing", `${env.name}/${host.name}: no host key configured`, {
      hint: `record it with: relctl hosts trust ${env.name}`,
    });
  }
  if (!config.repository) {
    throw new UsageError("config_invalid", `${config.file ?? "relctl.yml"}: repository: required to deploy`);
  }
  return {
    service: config.service,
    repository: config.repository,
    env,
    path: host.path,
    vars: host.vars,
    secrets: host.secrets,
  };
}

// ---------------------------------------------------------------------------------------------
// Plans (pure): what a deploy would run, for --dry-run.

export interface PlannedStep {
  readonly phase: string;
  readonly host: string;
  readonly step: Step;
}

/** The forward path of a deploy and the automatic rollback it would take. Pure. */
export function planDeploy(
  config: ServiceConfig,
  environment: string,
  tag: string,
  previous: { tag: string; schemaVersion: string | null } | null,
): { deploy: PlannedStep[]; rollback: PlannedStep[] } {
  validateTag(tag);
  const env = requireEnvironment(config, environment);
  const strategy = strategyFor(env.strategy);
  const [first] = env.hosts;
  const deploy: PlannedStep[] = [];
  const rollback: PlannedStep[] = [];
  const add = (
    list: PlannedStep[],
    phase: string,
    host: EnvironmentHost,
    steps: readonly (Step | undefined)[],
  ) => {
    for (const step of steps) if (step) list.push({ phase, host: host.name, step });
  };
  for (const host of env.hosts) {
    const ctx = hostContext(config, env, host);
    add(deploy, "prepare", host, [
      strategy.current(ctx),
      ...strategy.fetch(ctx),
      ...strategy.checkout(ctx, tag),
      ...strategy.build(ctx, tag),
    ]);
  }
  const firstCtx = hostContext(config, env, first!);
  add(deploy, "migrate", first!, strategy.migrate(firstCtx, tag));
  for (const host of env.hosts) {
    const ctx = hostContext(config, env, host);
    add(deploy, "switch", host, strategy.activate(ctx, tag));
    add(deploy, "health", host, healthSteps(env, host));
  }
  if (previous) {
    add(
      rollback,
      "migrate-down",
      first!,
      strategy.migrateDown(firstCtx, tag, previous.schemaVersion ?? "{version}"),
    );
    for (const host of env.hosts) {
      const ctx = hostContext(config, env, host);
      add(rollback, "switch", host, strategy.activate(ctx, previous.tag));
      add(rollback, "health", host, healthSteps(env, host));
    }
  }
  return { deploy, rollback };
}

function healthSteps(env: EnvironmentConfig, host: EnvironmentHost): Step[] {
  const url = healthUrlOf(env, host);
  if (!url || !env.health) return [];
  return [planHostHealthStep(url, env.health.timeoutMs, 1, env.health.attempts)];
}

// ---------------------------------------------------------------------------------------------
// Versions: what is deployed, and what can be rolled back to.

export interface DeployedVersion {
  readonly tag: string;
  readonly releaseId: number | null;
  readonly schemaVersion: string | null;
  readonly deployedAt: Date;
}

export interface VersionsView {
  readonly current: Deployment | undefined;
  readonly restorable: readonly DeployedVersion[];
  readonly history: readonly Deployment[];
}

/**
 * Restorable: among the last `keep` distinct tags deployed to the environment (the ones still on
 * the hosts), every one but the current, except releases whose production run ended badly.
 */
export async function listVersions(
  deps: Pick<RunbookDeps, "runs" | "releases">,
  config: ServiceConfig,
  environment: string,
): Promise<VersionsView> {
  const env = requireEnvironment(config, environment);
  const history = await deps.runs.deploymentHistory(config.service, environment);
  const current = history.find((d) => d.state === "active");
  const newestPerTag: Deployment[] = [];
  for (const d of history) if (!newestPerTag.some((x) => x.tag === d.tag)) newestPerTag.push(d);
  const kept = newestPerTag.slice(0, env.keep);
  const restorable: DeployedVersion[] = [];
  for (const d of kept) {
    if (d.tag === current?.tag) continue;
    const release = d.releaseId ? await deps.releases.getRelease(d.releaseId) : undefined;
    if (release && BAD_STATUSES.includes(release.status)) continue;
    restorable.push({
      tag: d.tag,
      releaseId: d.releaseId,
      schemaVersion: d.schemaVersion,
      deployedAt: d.deployedAt,
    });
  }
  return { current, restorable, history };
}

// ---------------------------------------------------------------------------------------------
// Shared machinery.

async function withDeployLock<T>(
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

/** Health-checks one host: attempts × interval, from the host (curl) or from relctl. */
async function checkHealth(
  deps: RunbookDeps,
  runner: Runner,
  env: EnvironmentConfig,
  host: EnvironmentHost,
  tag: string,
): Promise<boolean> {
  const url = healthUrlOf(env, host);
  const health = env.health;
  if (!url || !health) {
    await runner.note(`${host.name}: no health check configured; assuming healthy`);
    return true;
  }
  const sleep = deps.sleep ?? defaultSleep;
  const probe = deps.probe ?? defaultHealthProbe;
  for (let attempt = 1; attempt <= health.attempts; attempt++) {
    const step = planHostHealthStep(url, health.timeoutMs, attempt, health.attempts);
    let result: StepResult;
    if (health.from === "host") {
      result = await runner.step(host, step);
    } else {
      result = await runner.record(host.name, step, async () => {
        const started = Date.now();
        const r = await probe(url, health.timeoutMs);
        const tail = `${r.status ?? r.error ?? ""} ${r.body}`.trim().slice(-500);
        return {
          exitCode: r.ok ? 0 : 22,
          timedOut: false,
          connectionLost: false,
          durationMs: Date.now() - started,
          stdout: r.body,
          tail,
        };
      });
    }
    const ok = result.exitCode === 0 && (!health.expectVersion || bodyNamesVersion(result.stdout, tag));
    if (ok) return true;
    if (attempt < health.attempts) await sleep(health.intervalMs);
  }
  return false;
}

async function mustAll(runner: Runner, host: EnvironmentHost, steps: readonly Step[]): Promise<void> {
  for (const step of steps) await runner.must(host, step);
}

async function readSchemaVersion(
  runner: Runner,
  strategy: Strategy,
  ctx: HostPlanContext,
  host: EnvironmentHost,
  tag: string,
) {
  const step = strategy.schemaVersion(ctx, tag);
  if (!step) return null;
  return parseSchemaVersion(host, (await runner.must(host, step)).stdout);
}

/**
 * Runs migration steps and returns the schema version they leave: the last output line of the
 * last step (see Strategy.migrate), or a separate read when no migration command is configured.
 */
async function migrateAndRead(
  runner: Runner,
  strategy: Strategy,
  ctx: HostPlanContext,
  host: EnvironmentHost,
  tag: string,
  steps: readonly Step[],
): Promise<string | null> {
  let last: StepResult | undefined;
  for (const step of steps) last = await runner.must(host, step);
  if (!last || !ctx.env.commands.schema_version) return readSchemaVersion(runner, strategy, ctx, host, tag);
  return parseSchemaVersion(host, last.stdout);
}

function parseSchemaVersion(host: EnvironmentHost, stdout: string): string {
  const out = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(out)) {
    throw new ExternalError(
      "schema_version_unreadable",
      `${host.name}: schema_version printed ${JSON.stringify(out.slice(0, 40))}, expected a version`,
    );
  }
  return out;
}

function checkSchema(host: EnvironmentHost, actual: string | null, expected: string | null): void {
  if (expected !== null && actual !== null && actual !== expected) {
    throw new ExternalError(
      "schema_mismatch",
      `${host.name}: the schema is at version ${actual}, expected ${expected}`,
    );
  }
}

function errorLine(err: unknown): string {
  return isRelctlError(err) || err instanceof Error ? err.message : String(err);
}

interface RunScope {
  readonly config: ServiceConfig;
  readonly env: EnvironmentConfig;
  readonly strategy: Strategy;
  readonly runner: Runner;
  readonly run: Run;
  ctx(host: EnvironmentHost): HostPlanContext;
}

async function openRun(
  deps: RunbookDeps,
  config: ServiceConfig,
  environment: string,
  input: { kind: Run["kind"]; releaseId: number | null; tag: string; fromTag: string | null; actor: Actor },
): Promise<RunScope> {
  const env = requireEnvironment(config, environment);
  const run = await deps.runs.createRun({ ...input, service: config.service, environment });
  const runner = new Runner({
    executor: deps.executor,
    runs: deps.runs,
    runId: run.id,
    ...(deps.reporter ? { reporter: deps.reporter } : {}),
    ...(input.actor.traceId && input.actor.spanId
      ? { trace: { traceId: input.actor.traceId, spanId: input.actor.spanId } }
      : {}),
  });
  return {
    config,
    env,
    strategy: strategyFor(env.strategy),
    runner,
    run,
    ctx: (h) => hostContext(config, env, h),
  };
}

/** Connects to every host before anything changes; a refused host ends the run with nothing done. */
async function connectOrFail(deps: RunbookDeps, scope: RunScope): Promise<void> {
  try {
    await scope.runner.connect(scope.env.hosts);
  } catch (err) {
    await scope.runner.close();
    await deps.runs.finishRun(scope.run.id, "failed", errorLine(err));
    throw err;
  }
}

/** Ends a run: records its status (and the message when it did not succeed) and builds the outcome. */
async function finishRun(
  deps: RunbookDeps,
  scope: RunScope,
  result: {
    status: RunStatus;
    message: string;
    hint?: string;
    release: Release | undefined;
    previousTag: string | null;
  },
): Promise<RunOutcome> {
  const { status, message, hint } = result;
  await deps.runs.finishRun(scope.run.id, status, status === "succeeded" ? undefined : message);
  return {
    run: { ...scope.run, status },
    status,
    release: result.release,
    previousTag: result.previousTag,
    message,
    ...(hint ? { hint } : {}),
  };
}

/**
 * The release a run moves: its latest state, and status moves that are made only when the run is
 * allowed to move it (production, or a new release on stage).
 */
function trackRelease(deps: RunbookDeps, actor: Actor, initial: Release | undefined, moves: boolean) {
  let current = initial;
  return {
    get current() {
      return current;
    },
    async move(to: ReleaseStatus, fields: TransitionFields = {}) {
      if (moves && current) current = await deps.releases.transition(current.id, to, actor, fields);
    },
  };
}

/** Checks the input of a runbook before anything is read or written. */
function checkRunbookInput(input: RunbookInput): { tag: string; env: EnvironmentConfig } {
  const tag = validateTag(input.tag);
  const env = requireEnvironment(input.config, input.environment);
  for (const host of env.hosts) hostContext(input.config, env, host);
  return { tag, env };
}

// ---------------------------------------------------------------------------------------------
// deploy

/** What a deploy or a rehearsal is asked to do. */
export interface RunbookInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly tag: string;
  readonly actor: Actor;
}

export type DeployInput = RunbookInput;

/**
 * The seed's deploy flowchart. Production needs an approved release (manual_test_passed) and
 * moves it deploying → deployed, or → production_rollback → rollback_done | rollback_failed, or
 * → production_failed when there is nothing to roll back to. Other environments (stage) create the
 * release if needed and move initiated → stage_building, or → stage_building_failed.
 */
export async function runDeploy(deps: RunbookDeps, input: DeployInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  const { tag, env } = checkRunbookInput(input);
  const production = environment === PRODUCTION;
  let release = await deps.releases.findRelease(config.service, tag);
  if (production) {
    if (!release)
      throw new StateError(
        "release_not_found",
        `${config.service} ${tag} has no release: it must pass stage and approvals first`,
      );
    if (release.status !== "manual_test_passed") {
      throw new StateError(
        "not_approved",
        `${config.service} ${tag} is ${release.status}; production takes a release in manual_test_passed`,
        {
          hint:
            release.status === "manual_testing" ? "it is waiting for approvals (relctl status)" : undefined,
        },
      );
    }
  }
  const moves = production || !release || release.status === "initiated";
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `deploy ${tag}` },
    async () => {
      const previous = await deps.runs.activeDeployment(config.service, environment);
      let prev: { tag: string; schemaVersion: string | null } | undefined =
        previous && previous.tag !== tag ? previous : undefined;
      const scope = await openRun(deps, config, environment, {
        kind: "deploy",
        releaseId: release?.id ?? null,
        tag,
        fromTag: prev?.tag ?? null,
        actor,
      });
      await connectOrFail(deps, scope);
      if (!release) {
        // A stage deploy of a new tag creates its release, once every host has let us in.
        release = (await deps.releases.createRelease({ service: config.service, tag }, actor)).release;
        await deps.runs.setRunRelease(scope.run.id, release.id);
      }
      const releaseId = release.id;
      const { runner, strategy } = scope;
      const tracked = trackRelease(deps, actor, release, moves);
      const move = tracked.move;
      const finish = (status: RunStatus, message: string, hint?: string) =>
        finishRun(deps, scope, {
          status,
          message,
          ...(hint ? { hint } : {}),
          release: tracked.current,
          previousTag: prev?.tag ?? null,
        });
      try {
        const first = env.hosts[0]!;
        // Prepare every host before the release moves: a failure here changes nothing live and
        // leaves the release as it was, so the same deploy can simply be run again.
        try {
          for (const host of env.hosts) {
            const ctx = scope.ctx(host);
            const live = parseCurrentLink((await runner.must(host, strategy.current(ctx))).stdout);
            if (prev && live && live !== prev.tag) {
              await runner.note(`${host.name}: runs ${live}, the records say ${prev.tag}`);
            }
            if (!prev && !previous && live && live !== tag && host === first) {
              // No record of this environment (e.g. a store kept only for one workflow run):
              // what the host runs now, and its schema, is what a rollback returns to.
              prev = { tag: live, schemaVersion: await readSchemaVersion(runner, strategy, ctx, host, live) };
              await runner.note(
                `${host.name} runs ${live} (schema ${prev.schemaVersion ?? "-"}); relctl has no record of it`,
              );
              await deps.runs.setRunFromTag(scope.run.id, live);
            }
            await mustAll(runner, host, [
              ...strategy.fetch(ctx),
              ...strategy.checkout(ctx, tag),
              ...strategy.build(ctx, tag),
            ]);
          }
        } catch (failure) {
          return finish(
            "failed",
            `${tag} was not deployed to ${environment}: ${errorLine(failure)} (nothing live was changed)`,
            `fix the cause and run the same deploy again`,
          );
        }
        await move(production ? "deploying" : "stage_building", { rollbackToTag: prev?.tag ?? null });
        let phase: "migrate" | "switch" = "migrate";
        const switched: EnvironmentHost[] = [];
        let schemaVersion: string | null = null;
        try {
          const ctx = scope.ctx(first);
          schemaVersion = await migrateAndRead(runner, strategy, ctx, first, tag, strategy.migrate(ctx, tag));
          phase = "switch";
          for (const host of env.hosts) {
            switched.push(host);
            await mustAll(runner, host, strategy.activate(scope.ctx(host), tag));
            if (!(await checkHealth(deps, runner, env, host, tag))) {
              throw new StepFailedError(
                "unhealthy",
                `${host.name}: ${tag} failed its health check ${env.health?.attempts ?? 1} time(s)`,
              );
            }
          }
        } catch (failure) {
          const reason = errorLine(failure);
          await runner.note(`deploy of ${tag} failed: ${reason}`);
          if (!prev) {
            await move(production ? "production_failed" : "stage_building_failed");
            return finish(
              "failed",
              `${tag} failed on ${environment} and there is no previous version to roll back to: ${reason}`,
              `fix the service and deploy again; relctl versions ${config.service} --env ${environment} shows what is live`,
            );
          }
          if (production) await move("production_rollback");
          try {
            await rollbackTo(deps, scope, {
              fromTag: tag,
              target: prev,
              migrated: true,
              hosts: phase === "switch" ? switched : [],
            });
            await move(production ? "rollback_done" : "stage_building_failed");
            return finish(
              "rolled_back",
              `${tag} failed on ${environment} (${reason}); rolled back to ${prev.tag}`,
            );
          } catch (rollbackError) {
            await move(production ? "rollback_failed" : "stage_building_failed");
            return finish(
              "rollback_failed",
              `${tag} failed on ${environment} (${reason}) and the automatic rollback to ${prev.tag} failed too: ${errorLine(rollbackError)}`,
              `check the hosts, then run: relctl rollback ${config.service} --to ${prev.tag} --env ${environment} --yes`,
            );
          }
        }
        await deps.runs.recordDeployment({
          service: config.service,
          environment,
          releaseId,
          tag,
          schemaVersion,
          runId: scope.run.id,
          previousState: "superseded",
        });
        if (production) await move("deployed");
        await pruneOldReleases(deps, scope, environment, tag);
        return finish(
          "succeeded",
          `${config.service} ${tag} is live on ${environment}${prev ? ` (was ${prev.tag})` : ""}`,
        );
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await runner.close();
      }
    },
  );
}

/** Rolls an environment back to `target`: migrations down with the newer code first, then the switch. */
async function rollbackTo(
  deps: RunbookDeps,
  scope: RunScope,
  input: {
    fromTag: string;
    target: { tag: string; schemaVersion: string | null };
    migrated: boolean;
    hosts: readonly EnvironmentHost[];
  },
): Promise<void> {
  const { runner, strategy, env } = scope;
  const first = env.hosts[0]!;
  if (input.migrated && input.target.schemaVersion !== null) {
    const ctx = scope.ctx(first);
    const steps = strategy.migrateDown(ctx, input.fromTag, input.target.schemaVersion);
    const left = await migrateAndRead(runner, strategy, ctx, first, input.fromTag, steps);
    checkSchema(first, left, input.target.schemaVersion);
  }
  for (const host of env.hosts) {
    if (input.hosts.includes(host))
      await mustAll(runner, host, strategy.activate(scope.ctx(host), input.target.tag));
    if (!(await checkHealth(deps, runner, env, host, input.target.tag))) {
      throw new StepFailedError(
        "unhealthy",
        `${host.name}: ${input.target.tag} failed its health check after the rollback`,
      );
    }
  }
}

/** Removes releases no longer kept (best effort: a failure here is reported, not fatal). */
async function pruneOldReleases(
  deps: RunbookDeps,
  scope: RunScope,
  environment: string,
  current: string,
): Promise<void> {
  const view = await listVersions(deps, scope.config, environment);
  const kept = new Set<string>([current]);
  const seen: string[] = [];
  for (const d of view.history) if (!seen.includes(d.tag)) seen.push(d.tag);
  for (const t of seen.slice(0, scope.env.keep)) kept.add(t);
  const candidates = (await deps.runs.deployedRunTags(scope.config.service, environment)).filter(
    (t) => !kept.has(t),
  );
  if (candidates.length === 0) return;
  for (const host of scope.env.hosts) {
    for (const step of scope.strategy.prune(scope.ctx(host), candidates)) {
      const r = await scope.runner.step(host, step);
      if (r.exitCode !== 0)
        await scope.runner.note(
          `${host.name}: could not prune old releases (${stepFailure(host.name, step, r).message})`,
        );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// rehearse

export type RehearseInput = RunbookInput;

/**
 * The rollback rehearsal on stage (the seed's nine steps): roll the schema back with the new code,
 * switch to the previous release and check it, then migrate up again, switch back and check.
 * stage_building → stage_test_rollback → manual_testing | stage_test_rollback_failed.
 */
export async function runRehearsal(deps: RunbookDeps, input: RehearseInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  const { tag, env } = checkRunbookInput(input);
  const release = await deps.releases.findRelease(config.service, tag);
  if (!release)
    throw new StateError(
      "release_not_found",
      `${config.service} ${tag} has no release; deploy it to ${environment} first`,
    );
  if (release.status !== "stage_building") {
    throw new StateError(
      "wrong_status",
      `${config.service} ${tag} is ${release.status}; a rehearsal needs stage_building`,
    );
  }
  const history = await deps.runs.deploymentHistory(config.service, environment);
  const active = history.find((d) => d.state === "active");
  if (active?.tag !== tag) {
    throw new StateError(
      "not_deployed",
      `${environment} runs ${active?.tag ?? "nothing"}, not ${tag}; deploy ${tag} to ${environment} first`,
    );
  }
  let prev: Deployment | undefined;
  for (const d of history) {
    if (d.id >= active.id || d.tag === tag) continue;
    const r = d.releaseId ? await deps.releases.getRelease(d.releaseId) : undefined;
    if (r && BAD_STATUSES.includes(r.status)) continue;
    prev = d;
    break;
  }
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `rehearse ${tag}` },
    async () => {
      const scope = await openRun(deps, config, environment, {
        kind: "rehearse",
        releaseId: release.id,
        tag,
        fromTag: prev?.tag ?? null,
        actor,
      });
      let current = release;
      const finish = (status: RunStatus, message: string, hint?: string) =>
        finishRun(deps, scope, {
          status,
          message,
          ...(hint ? { hint } : {}),
          release: current,
          previousTag: prev?.tag ?? null,
        });
      if (!prev) {
        current = await deps.releases.transition(release.id, "stage_test_rollback", actor, {
          rollbackToTag: null,
        });
        await scope.runner.note(
          `first release of ${config.service} on ${environment}: nothing to roll back to`,
        );
        current = await deps.releases.transition(release.id, "manual_testing", actor);
        return finish(
          "succeeded",
          `first release of ${config.service}: nothing to roll back to; ${tag} is ready for manual testing`,
        );
      }
      await connectOrFail(deps, scope);
      const { runner, strategy } = scope;
      const first = env.hosts[0]!;
      try {
        current = await deps.releases.transition(release.id, "stage_test_rollback", actor, {
          rollbackToTag: prev.tag,
        });
        try {
          const saved = await readSchemaVersion(runner, strategy, scope.ctx(first), first, tag);
          await runner.note(`rehearsing the rollback ${tag} → ${prev.tag}`);
          await rollbackTo(deps, scope, { fromTag: tag, target: prev, migrated: true, hosts: env.hosts });
          await runner.note(`${prev.tag} is healthy; restoring ${tag}`);
          const ctx = scope.ctx(first);
          checkSchema(
            first,
            await migrateAndRead(runner, strategy, ctx, first, tag, strategy.migrate(ctx, tag)),
            saved,
          );
          for (const host of env.hosts) {
            await mustAll(runner, host, strategy.activate(scope.ctx(host), tag));
            if (!(await checkHealth(deps, runner, env, host, tag))) {
              throw new StepFailedError(
                "unhealthy",
                `${host.name}: ${tag} failed its health check after the restore`,
              );
            }
          }
        } catch (failure) {
          const reason = errorLine(failure);
          await runner.note(`rehearsal failed: ${reason}; restoring ${tag}`);
          try {
            await mustAll(runner, first, strategy.migrate(scope.ctx(first), tag));
            for (const host of env.hosts)
              await mustAll(runner, host, strategy.activate(scope.ctx(host), tag));
          } catch (restoreError) {
            await runner.note(`could not restore ${tag} on ${environment}: ${errorLine(restoreError)}`);
          }
          current = await deps.releases.transition(release.id, "stage_test_rollback_failed", actor);
          return finish(
            "failed",
            `the rollback rehearsal ${tag} → ${prev.tag} failed: ${reason}`,
            "fix the down migrations or the previous release, then tag a new version",
          );
        }
        current = await deps.releases.transition(release.id, "manual_testing", actor);
        return finish(
          "succeeded",
          `rollback ${tag} → ${prev.tag} rehearsed on ${environment} (schema and code, down and up); ${tag} is ready for manual testing`,
        );
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await runner.close();
      }
    },
  );
}

// ---------------------------------------------------------------------------------------------
// rollback

export interface RollbackInput {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly toTag: string;
  readonly actor: Actor;
}

export interface RollbackPlan {
  readonly current: Deployment;
  readonly target: DeployedVersion;
  readonly currentRelease: Release | undefined;
}

/** Checks that a rollback can run; pure of effects (reads only). */
export async function planRollback(
  deps: Pick<RunbookDeps, "runs" | "releases">,
  input: RollbackInput,
): Promise<RollbackPlan> {
  const toTag = validateTag(input.toTag, "to");
  const view = await listVersions(deps, input.config, input.environment);
  if (!view.current)
    throw new StateError(
      "nothing_deployed",
      `nothing is deployed to ${input.config.service}/${input.environment}`,
    );
  if (view.current.tag === toTag)
    throw new StateError(
      "already_live",
      `${input.config.service} ${toTag} is already live on ${input.environment}`,
    );
  const target = view.restorable.find((v) => v.tag === toTag);
  if (!target) {
    throw new StateError(
      "not_restorable",
      `${toTag} is not restorable on ${input.environment} (restorable: ${view.restorable.map((v) => v.tag).join(", ") || "none"})`,
    );
  }
  const currentRelease = view.current.releaseId
    ? await deps.releases.getRelease(view.current.releaseId)
    : undefined;
  return { current: view.current, target, currentRelease };
}

/** Rolls an environment back to a chosen earlier tag: migrations down first, then the switch, then health. */
export async function runRollback(deps: RunbookDeps, input: RollbackInput): Promise<RunOutcome> {
  const { config, environment, actor } = input;
  const env = requireEnvironment(config, environment);
  for (const host of env.hosts) hostContext(config, env, host);
  await planRollback(deps, input);
  return withDeployLock(
    deps,
    { service: config.service, environment, owner: actor.user, reason: `rollback to ${input.toTag}` },
    async () => {
      const { current, target, currentRelease } = await planRollback(deps, input);
      const scope = await openRun(deps, config, environment, {
        kind: "rollback",
        releaseId: currentRelease?.id ?? null,
        tag: target.tag,
        fromTag: current.tag,
        actor,
      });
      await connectOrFail(deps, scope);
      const moves = environment === PRODUCTION && currentRelease?.status === "deployed";
      const tracked = trackRelease(deps, actor, currentRelease, moves);
      const move = tracked.move;
      const finish = (status: RunStatus, message: string, hint?: string) =>
        finishRun(deps, scope, {
          status,
          message,
          ...(hint ? { hint } : {}),
          release: tracked.current,
          previousTag: current.tag,
        });
      try {
        await move("production_rollback", { rollbackToTag: target.tag });
        try {
          await rollbackTo(deps, scope, {
            fromTag: current.tag,
            target,
            migrated: current.schemaVersion !== target.schemaVersion,
            hosts: env.hosts,
          });
        } catch (failure) {
          await move("rollback_failed");
          return finish(
            "rollback_failed",
            `rollback of ${environment} from ${current.tag} to ${target.tag} failed: ${errorLine(failure)}`,
            `check the hosts (relctl doctor), then retry: relctl rollback ${config.service} --to ${target.tag} --env ${environment} --yes`,
          );
        }
        await deps.runs.recordDeployment({
          service: config.service,
          environment,
          releaseId: target.releaseId,
          tag: target.tag,
          schemaVersion: target.schemaVersion,
          runId: scope.run.id,
          previousState: "rolled_back",
        });
        await move("rollback_done");
        return finish(
          "succeeded",
          `${config.service} on ${environment} rolled back from ${current.tag} to ${target.tag}`,
        );
      } catch (unexpected) {
        await deps.runs.finishRun(scope.run.id, "failed", errorLine(unexpected)).catch(() => {});
        throw unexpected;
      } finally {
        await scope.runner.close();
      }
    },
  );
}
