import { redact } from "../adapters/exec/quote.js";
import type {
  EnvironmentConfig,
  EnvironmentHost,
  EnvironmentRole,
  HostCount,
  Rollout,
  RolloutAnalysis,
  ServiceConfig,
} from "../config/load.js";
import { validateTag } from "../domain/names.js";
import type { ReleaseStatus } from "../domain/statuses.js";
import { UsageError } from "../errors.js";
import { isLocalTarget, type Step } from "../ports/executor.js";
import { planProxySwitch, planRetire, planSlotStart } from "./blue-green.js";
import { healthUrlOf, planHostHealthStep } from "./health.js";
import { layoutOf } from "./layout.js";
import { strategyFor } from "./steps.js";
import type { HostPlanContext, Strategy } from "./strategy.js";

/**
 * Runbook plans, pure: what a deploy, a rehearsal or a rollback runs, phase by phase, what it
 * does when a phase fails, and how it moves the release. `--dry-run` prints a plan; apply.ts runs
 * the very same plan and records each step.
 */

export type PlanPhase =
  | "check"
  | "prepare"
  | "migrate"
  | "switch"
  | "bake"
  | "retire"
  | "prune"
  | "migrate-down"
  | "switch-back"
  | "restore";

/**
 * How a health item checks one host: at once, then backing off up to `intervalMs` for
 * (attempts − 1) × intervalMs; and whether the body must name `tag`.
 */
export interface HealthSpec {
  readonly url: string;
  readonly attempts: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly from: "host" | "relctl";
  /** The body must name this tag (health.expect_version), so an old process cannot pass for the new. */
  readonly expectTag: string | null;
  readonly tag: string;
  /** Blue/green: the URL's port is the slot's the host's slot-start reported (checked directly). */
  readonly onSlot?: boolean;
}

/**
 * A bake (rollout): the first batch runs for `durationMs`, its hosts health-probed and the
 * analysis query measured every `intervalMs`; a failure beyond the analysis' limit aborts.
 */
export interface BakeSpec {
  readonly durationMs: number;
  readonly intervalMs: number;
  readonly hosts: readonly string[];
  /** Each baked host's health check (none without `health:`). */
  readonly checks: readonly { readonly host: string; readonly health: HealthSpec }[];
  readonly analysis: RolloutAnalysis | null;
  readonly service: string;
  readonly environment: string;
  readonly tag: string;
}

export interface PlanItem {
  readonly phase: PlanPhase;
  readonly host: string;
  /** The step; for a health item, its first attempt. */
  readonly step: Step;
  readonly health?: HealthSpec;
  /** A bake: nothing runs on the host; relctl probes and measures (see BakeSpec). */
  readonly bake?: BakeSpec;
  /** The step's last output line is the slot it started on (blue/green: "<slot> <port> …"). */
  readonly reportsSlot?: boolean;
  /** Items of one rollout batch: `together` items group by batch, so batches run one after another. */
  readonly batch?: number;
  /** The step's last output line is the schema version it leaves. */
  readonly reportsSchema?: boolean;
  /** Fail unless the schema version reported equals this. */
  readonly expectSchema?: string;
  /** Run only on hosts the forward path has switched (compensation). */
  readonly onlySwitched?: boolean;
  /** A failure is noted, never fatal (pruning). */
  readonly bestEffort?: boolean;
  /**
   * Runs at once with its neighbours of other hosts that say the same: each host's items in
   * order, at most the environment's `parallel` hosts at a time (see applyItems). When a host
   * fails, "end" ends the steps running on the others (preparation: nothing live changes);
   * "finish" lets each host that has begun finish its items (a switch and its health check are
   * never cut in half) and begins no other.
   */
  readonly together?: "end" | "finish";
  /** This exit code is a refusal (a read-only check said no), not an outside failure. */
  readonly refusal?: {
    readonly exitCode: number;
    readonly kind: "usage" | "state";
    readonly code: string;
    readonly message: string;
    readonly hint?: string;
  };
}

export interface PreviousVersion {
  readonly tag: string;
  readonly schemaVersion: string | null;
}

/** Status moves of a run; null: the run does not move the release at that point. */
export interface PlanMoves {
  /** Before the first change (migrate). */
  readonly start: ReleaseStatus | null;
  readonly succeeded: ReleaseStatus | null;
  /** Preparation failed: nothing live changed. */
  readonly prepareFailed: ReleaseStatus | null;
  /** Failed with nothing to roll back to. */
  readonly failedNoPrevious: ReleaseStatus | null;
  readonly rollingBack: ReleaseStatus | null;
  readonly rolledBack: ReleaseStatus | null;
  readonly rollbackFailed: ReleaseStatus | null;
}

const NO_MOVES: PlanMoves = {
  start: null,
  succeeded: null,
  prepareFailed: null,
  failedNoPrevious: null,
  rollingBack: null,
  rolledBack: null,
  rollbackFailed: null,
};

export interface DeployPlan {
  readonly kind: "deploy";
  readonly service: string;
  readonly environment: string;
  readonly role: EnvironmentRole;
  readonly tag: string;
  readonly previous: PreviousVersion | null;
  readonly moves: PlanMoves;
  /** Read-only: what each host runs, and that the repository has the tag. */
  readonly check: readonly PlanItem[];
  /** fetch, checkout, build on every host at once: nothing live changes. */
  readonly prepare: readonly PlanItem[];
  /** Once, on the first host. */
  readonly migrate: readonly PlanItem[];
  /** Batch by batch (the rollout): switch, health; after the first batch, its bake. */
  readonly switch: readonly PlanItem[];
  /** Blue/green: the old instances stop once drained (after the whole rollout). */
  readonly retire: readonly PlanItem[];
  readonly prune: readonly PlanItem[];
  /** The automatic rollback when migrate or switch fails; null when there is nothing to go back to. */
  readonly rollback: readonly PlanItem[] | null;
}

export interface RehearsalPlan {
  readonly kind: "rehearse";
  readonly service: string;
  readonly environment: string;
  readonly tag: string;
  readonly target: PreviousVersion | null;
  /** Read-only: the target's files are on every host; the schema the release runs now. */
  readonly check: readonly PlanItem[];
  /** Schema down with the new code, switch to the target, health. */
  readonly down: readonly PlanItem[];
  /** Schema up again, switch back, health. */
  readonly up: readonly PlanItem[];
  /** When the rehearsal fails: put the release back (migrate up, switch to it). */
  readonly restore: readonly PlanItem[];
}

export interface RollbackRunPlan {
  readonly kind: "rollback";
  readonly service: string;
  readonly environment: string;
  readonly fromTag: string;
  readonly target: PreviousVersion & { readonly releaseId: number | null };
  readonly moves: PlanMoves;
  readonly steps: readonly PlanItem[];
}

export type RunbookPlan = DeployPlan | RehearsalPlan | RollbackRunPlan;

// ---------------------------------------------------------------------------------------------

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

/** What a strategy needs of a host; refuses a host it cannot plan for (no host key, no repository). */
export function hostContext(
  config: ServiceConfig,
  env: EnvironmentConfig,
  host: EnvironmentHost,
): HostPlanContext {
  if (!isLocalTarget(host) && !host.hostKey) {
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

interface Planner {
  readonly env: EnvironmentConfig;
  readonly strategy: Strategy;
  readonly first: EnvironmentHost;
  ctx(host: EnvironmentHost): HostPlanContext;
  items(phase: PlanPhase, host: EnvironmentHost, steps: readonly (Step | undefined)[]): PlanItem[];
  health(phase: PlanPhase, host: EnvironmentHost, tag: string): PlanItem | null;
  /** Migration steps (migrate or migrate-down) whose last step reports the schema, or a read of it. */
  schemaSteps(phase: PlanPhase, steps: readonly Step[], codeTag: string, expect?: string | null): PlanItem[];
}

function planner(config: ServiceConfig, environment: string): Planner {
  const env = requireEnvironment(config, environment);
  const strategy = strategyFor(env.strategy);
  const contexts = new Map(env.hosts.map((h) => [h.name, hostContext(config, env, h)]));
  const ctx = (host: EnvironmentHost) => contexts.get(host.name)!;
  const first = env.hosts[0]!;
  const items = (phase: PlanPhase, host: EnvironmentHost, steps: readonly (Step | undefined)[]) =>
    steps.filter((s): s is Step => s !== undefined).map((step) => ({ phase, host: host.name, step }));
  return {
    env,
    strategy,
    first,
    ctx,
    items,
    health(phase, host, tag) {
      const url = healthUrlOf(env, host);
      const h = env.health;
      if (!url || !h) return null;
      return {
        phase,
        host: host.name,
        step: planHostHealthStep(url, h.timeoutMs, 1),
        health: {
          url,
          attempts: h.attempts,
          intervalMs: h.intervalMs,
          timeoutMs: h.timeoutMs,
          from: h.from,
          expectTag: h.expectVersion ? tag : null,
          tag,
        },
      };
    },
    schemaSteps(phase, steps, codeTag, expect) {
      const reports = env.commands.schema_version !== undefined;
      const out: PlanItem[] = items(phase, first, steps);
      if (out.length > 0 && reports) {
        const last = out.length - 1;
        out[last] = {
          ...out[last]!,
          reportsSchema: true,
          ...(expect !== undefined && expect !== null ? { expectSchema: expect } : {}),
        };
        return out;
      }
      const read = strategy.schemaVersion(ctx(first), codeTag);
      if (read)
        out.push({
          phase,
          host: first.name,
          step: read,
          reportsSchema: true,
          ...(expect !== undefined && expect !== null ? { expectSchema: expect } : {}),
        });
      return out;
    },
  };
}

/**
 * What makes `tag` live on one host. In place: the strategy's activate (switch, restart), then
 * health. Behind a proxy (blue/green): start it beside the live instance, check it directly,
 * then switch the proxy (see blue-green.ts).
 */
function activation(p: Planner, phase: PlanPhase, host: EnvironmentHost, tag: string): PlanItem[] {
  const ctx = p.ctx(host);
  const health = p.health(phase, host, tag);
  const proxy = host.proxy;
  if (!proxy || !p.strategy.slotStart)
    return [...p.items(phase, host, p.strategy.activate(ctx, tag)), ...(health ? [health] : [])];
  const pidFile = layoutOf(host.path).stepPid;
  const start = planSlotStart(
    ctx,
    proxy,
    tag,
    p.strategy.slotStart(ctx, tag),
    p.strategy.slotStop?.(ctx, tag),
  );
  return [
    { phase, host: host.name, step: start, reportsSlot: true },
    ...(health
      ? [
          {
            ...health,
            step: { ...health.step, title: `${health.step.title} (on the new instance's port)` },
            health: { ...health.health!, onSlot: true },
          },
        ]
      : []),
    { phase, host: host.name, step: { ...planProxySwitch(ctx, proxy, tag), pidFile } },
  ];
}

/** Blue/green: every proxied host stops its old instance once drained (best effort, all at once). */
function retirement(p: Planner, tag: string, how: { readonly onlySwitched?: boolean } = {}): PlanItem[] {
  const out: PlanItem[] = [];
  for (const host of p.env.hosts) {
    if (!host.proxy || !p.strategy.slotStart) continue;
    const ctx = p.ctx(host);
    const step = planRetire(ctx, host.proxy, tag, p.strategy.slotStop?.(ctx, tag));
    out.push({
      phase: "retire",
      host: host.name,
      step: { ...step, pidFile: layoutOf(host.path).stepPid },
      bestEffort: true,
      ...(how.onlySwitched ? { onlySwitched: true } : {}),
    });
  }
  return atOnce(out, "finish");
}

/**
 * Switch every host to `tag`, each followed by its health check: host by host (a rehearsal), or
 * every host at once (a rollback: what it restores is known to work).
 */
function switchAll(
  p: Planner,
  phase: PlanPhase,
  tag: string,
  how: { readonly onlySwitched?: boolean; readonly atOnce?: boolean } = {},
): PlanItem[] {
  const out: PlanItem[] = [];
  for (const host of p.env.hosts) {
    for (const item of activation(p, phase, host, tag))
      out.push(how.onlySwitched ? { ...item, onlySwitched: true } : item);
  }
  return how.atOnce ? atOnce(out, "finish") : out;
}

function countOf(c: HostCount, total: number): number {
  const n = "hosts" in c ? c.hosts : Math.ceil((total * c.percent) / 100);
  return Math.max(1, Math.min(total, n));
}

/** The rollout's batches: the canary first, then batches of `batch` hosts, in the hosts' order. */
export function rolloutBatches<T>(hosts: readonly T[], rollout: Rollout): T[][] {
  const first = countOf(rollout.canary ?? rollout.batch, hosts.length);
  const size = countOf(rollout.batch, hosts.length);
  const out: T[][] = [hosts.slice(0, first)];
  for (let i = first; i < hosts.length; i += size) out.push(hosts.slice(i, i + size));
  return out.filter((b) => b.length > 0);
}

/**
 * A deploy's switch, batch by batch (rollout): each batch's hosts at once (switch and health
 * check; a host that has begun finishes), and after the first batch its bake.
 */
function rolloutSwitch(p: Planner, tag: string): PlanItem[] {
  const r = p.env.rollout;
  const out: PlanItem[] = [];
  for (const [b, hosts] of rolloutBatches(p.env.hosts, r).entries()) {
    for (const host of hosts)
      for (const item of activation(p, "switch", host, tag))
        out.push({ ...item, together: "finish", batch: b });
    if (b === 0 && (r.bakeMs > 0 || r.analysis)) out.push(bakeItem(p, hosts, tag));
  }
  return out;
}

function bakeItem(p: Planner, hosts: readonly EnvironmentHost[], tag: string): PlanItem {
  const r = p.env.rollout;
  const durationMs = r.bakeMs;
  const intervalMs = Math.max(
    250,
    Math.min(r.analysis?.intervalMs ?? p.env.health?.intervalMs ?? 10_000, Math.max(durationMs, 250)),
  );
  const names = hosts.map((h) => h.name);
  const seconds = Math.round(durationMs / 1000);
  const what = [
    ...(p.env.health ? ["health"] : []),
    ...(r.analysis ? [`analysis ${r.analysis.query}${boundsText(r.analysis)}`] : []),
  ];
  return {
    phase: "bake",
    host: hosts[0]!.name,
    step: {
      id: "bake",
      title: `bake ${names.join(", ")} for ${seconds}s${what.length ? ` (${what.join("; ")})` : ""}`,
      argv: [],
      timeoutMs: durationMs + 60_000,
    },
    bake: {
      durationMs,
      intervalMs,
      hosts: names,
      checks: hosts.flatMap((h) => {
        const health = p.health("bake", h, tag)?.health;
        return health ? [{ host: h.name, health: h.proxy ? { ...health, onSlot: true } : health }] : [];
      }),
      analysis: r.analysis,
      service: p.ctx(hosts[0]!).service,
      environment: p.env.name,
      tag,
    },
  };
}

export function boundsText(a: RolloutAnalysis): string {
  if (a.min !== undefined && a.max !== undefined) return ` within ${a.min}..${a.max}`;
  return a.max !== undefined ? ` ≤ ${a.max}` : ` ≥ ${a.min}`;
}

/** Items every host runs at the same time (see PlanItem.together). */
function atOnce(items: readonly PlanItem[], onFailure: "end" | "finish"): PlanItem[] {
  return items.map((i) => ({ ...i, together: onFailure }));
}

function movesFor(role: EnvironmentRole, moves: boolean): PlanMoves {
  if (!moves || role === "open") return NO_MOVES;
  if (role === "stage") {
    return {
      start: "stage_building",
      succeeded: null,
      prepareFailed: "stage_building_failed",
      failedNoPrevious: "stage_building_failed",
      rollingBack: null,
      rolledBack: "stage_building_failed",
      rollbackFailed: "stage_building_failed",
    };
  }
  return {
    start: "deploying",
    succeeded: "deployed",
    prepareFailed: null,
    failedNoPrevious: "production_failed",
    rollingBack: "production_rollback",
    rolledBack: "rollback_done",
    rollbackFailed: "rollback_failed",
  };
}

/**
 * A deploy (the seed's flowchart): check every host, prepare every host (all at once), migrate
 * once on the first host, switch host by host with a health check each; then prune what is no
 * longer kept. When migrate or a switch fails: migrations down with the new code to the previous
 * version's schema, switch the switched hosts back (all at once), health — or, with no previous
 * version, fail.
 */
export function planDeploy(input: {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly tag: string;
  readonly previous: PreviousVersion | null;
  /** Whether the run moves the release (see admitDeploy). */
  readonly moves: boolean;
  /** The release is already `deploying` (a run whose holder stopped): no move into it. */
  readonly resume?: boolean;
  /** Tags whose files go once the deploy succeeds (see planVersions). */
  readonly prune: readonly string[];
}): DeployPlan {
  const { config, previous } = input;
  const tag = validateTag(input.tag);
  const p = planner(config, input.environment);
  const check: PlanItem[] = [
    ...atOnce(
      p.env.hosts.flatMap((h) => p.items("check", h, [p.strategy.current(p.ctx(h))])),
      "end",
    ),
    ...p.items("check", p.first, [p.strategy.tagPresent(p.ctx(p.first), tag)]).map((i) => ({
      ...i,
      refusal: {
        exitCode: 2,
        kind: "usage" as const,
        code: "tag_not_found",
        message: `tag: ${tag} is not a tag of ${config.service}'s repository (${config.repository})`,
        hint: `push it first: git push origin ${tag}`,
      },
    })),
  ];
  const prepare = atOnce(
    p.env.hosts.flatMap((h) =>
      p.items("prepare", h, [
        ...p.strategy.fetch(p.ctx(h)),
        ...p.strategy.checkout(p.ctx(h), tag),
        ...p.strategy.build(p.ctx(h), tag),
      ]),
    ),
    "end",
  );
  const migrate = p.schemaSteps("migrate", p.strategy.migrate(p.ctx(p.first), tag), tag);
  const prune =
    input.prune.length === 0
      ? []
      : atOnce(
          p.env.hosts.flatMap((h) =>
            p
              .items("prune", h, p.strategy.prune(p.ctx(h), input.prune))
              .map((i) => ({ ...i, bestEffort: true })),
          ),
          "finish",
        );
  return {
    kind: "deploy",
    service: config.service,
    environment: p.env.name,
    role: p.env.role,
    tag,
    previous,
    moves: input.resume
      ? { ...movesFor(p.env.role, input.moves), start: null }
      : movesFor(p.env.role, input.moves),
    check,
    prepare,
    migrate,
    switch: rolloutSwitch(p, tag),
    retire: retirement(p, tag),
    prune,
    rollback: previous ? planCompensation(p, tag, previous) : null,
  };
}

/** Back to `target`: migrations down with `fromTag`'s code (only it knows them), switch back, health. */
function planCompensation(p: Planner, fromTag: string, target: PreviousVersion): PlanItem[] {
  const down =
    target.schemaVersion === null
      ? []
      : p.schemaSteps(
          "migrate-down",
          p.strategy.migrateDown(p.ctx(p.first), fromTag, target.schemaVersion),
          fromTag,
          target.schemaVersion,
        );
  return [
    ...down,
    ...switchAll(p, "switch-back", target.tag, { onlySwitched: true, atOnce: true }),
    ...retirement(p, target.tag, { onlySwitched: true }),
  ];
}

/**
 * The rollback rehearsal on stage (the seed's nine steps): read the schema; roll it back to the
 * target's with the new code; switch to the target and check it; migrate up again (to the schema
 * read first); switch back and check. `target` null: the first release, nothing to rehearse.
 */
export function planRehearsal(input: {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly tag: string;
  readonly target: PreviousVersion | null;
  /** The schema the release runs now, when recorded; checked after migrating up again. */
  readonly schemaVersion: string | null;
}): RehearsalPlan {
  const { config, target } = input;
  const tag = validateTag(input.tag);
  const p = planner(config, input.environment);
  const base = { kind: "rehearse" as const, service: config.service, environment: p.env.name, tag, target };
  if (!target) return { ...base, check: [], down: [], up: [], restore: [] };
  const check = p.env.hosts.flatMap((h) =>
    p.items("check", h, [p.strategy.releasePresent(p.ctx(h), target.tag)]).map((i) => ({
      ...i,
      refusal: {
        exitCode: 1,
        kind: "state" as const,
        code: "rehearsal_target_missing",
        message: `${h.name}: the rehearsal target ${target.tag} is not on the host (releases/${target.tag} is missing)`,
        hint: `put it back with: relctl deploy ${config.service} ${target.tag} --env ${p.env.name}, then release again`,
      },
    })),
  );
  const down = [
    ...(target.schemaVersion === null
      ? []
      : p.schemaSteps(
          "migrate-down",
          p.strategy.migrateDown(p.ctx(p.first), tag, target.schemaVersion),
          tag,
          target.schemaVersion,
        )),
    ...switchAll(p, "switch", target.tag),
  ];
  const up = [
    ...p.schemaSteps("migrate", p.strategy.migrate(p.ctx(p.first), tag), tag, input.schemaVersion),
    ...switchAll(p, "switch-back", tag),
    ...retirement(p, tag),
  ];
  const restore = [
    ...p.items("restore", p.first, p.strategy.migrate(p.ctx(p.first), tag)),
    ...p.env.hosts.flatMap((h) => activation(p, "restore", h, tag).filter((i) => !i.health)),
  ].map((i) => ({ ...i, bestEffort: true }));
  return { ...base, check, down, up, restore };
}

/**
 * A rollback to a chosen earlier version: migrations down first (when the schema differs), then
 * every host at once: switch, health.
 */
export function planRollbackRun(input: {
  readonly config: ServiceConfig;
  readonly environment: string;
  readonly fromTag: string;
  readonly fromSchemaVersion: string | null;
  readonly target: PreviousVersion & { readonly releaseId: number | null };
  /** The release rolled back moves (deployed → production_rollback → rollback_done | rollback_failed). */
  readonly moves: boolean;
}): RollbackRunPlan {
  const { config, target } = input;
  const p = planner(config, input.environment);
  const migrated = input.fromSchemaVersion !== target.schemaVersion;
  const down =
    migrated && target.schemaVersion !== null
      ? p.schemaSteps(
          "migrate-down",
          p.strategy.migrateDown(p.ctx(p.first), input.fromTag, target.schemaVersion),
          input.fromTag,
          target.schemaVersion,
        )
      : [];
  return {
    kind: "rollback",
    service: config.service,
    environment: p.env.name,
    fromTag: input.fromTag,
    target,
    moves: input.moves
      ? {
          ...NO_MOVES,
          rollingBack: "production_rollback",
          rolledBack: "rollback_done",
          rollbackFailed: "rollback_failed",
        }
      : NO_MOVES,
    steps: [...down, ...switchAll(p, "switch", target.tag, { atOnce: true }), ...retirement(p, target.tag)],
  };
}

/** The forward path of a plan, in the order it runs (what a successful run records). */
export function forwardItems(plan: RunbookPlan): PlanItem[] {
  switch (plan.kind) {
    case "deploy":
      return [...plan.check, ...plan.prepare, ...plan.migrate, ...plan.switch, ...plan.retire, ...plan.prune];
    case "rehearse":
      return [...plan.check, ...plan.down, ...plan.up];
    case "rollback":
      return [...plan.steps];
  }
}

/** What a plan runs when it fails (the automatic rollback, or the rehearsal's restore). */
export function compensationItems(plan: RunbookPlan): PlanItem[] {
  switch (plan.kind) {
    case "deploy":
      return [...(plan.rollback ?? [])];
    case "rehearse":
      return [...plan.restore];
    case "rollback":
      return [];
  }
}

/** A plan item as JSON (`--dry-run --json`; the same shape as a recorded step). */
export function planItemJson(item: PlanItem): Record<string, unknown> {
  return {
    phase: item.phase,
    host: item.host,
    step: item.step.id,
    title: item.step.title,
    argv: item.step.argv.map((a) => redact(a, item.step.sensitive)),
    cwd: item.step.cwd ?? null,
  };
}
