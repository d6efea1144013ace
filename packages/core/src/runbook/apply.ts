import type { EnvironmentHost } from "../config/load.js";
import { ExternalError, StateError, UsageError } from "../errors.js";
import type { StepResult } from "../ports/executor.js";
import { forEachAtOnce } from "./at-once.js";
import { bake } from "./bake.js";
import { parseSlotStart, urlOnPort } from "./blue-green.js";
import { bodyNamesVersion, defaultHealthProbe, type HealthProbe, planHostHealthStep } from "./health.js";
import type { HealthSpec, PlanItem } from "./plan.js";
import { type Runner, StepFailedError, stepFailure } from "./runner.js";

/** What applying plan items needs: the run's runner, its hosts, and how to wait and probe. */
export interface ApplyContext {
  readonly runner: Runner;
  readonly hosts: ReadonlyMap<string, EnvironmentHost>;
  readonly probe?: HealthProbe;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Hosts the forward path has switched (a compensation switches only these back). */
  readonly switched: Set<string>;
  /** Blue/green: the port each host's last slot-start reported (its health check goes there). */
  readonly slots: Map<string, number>;
  /** Prometheus' HTTP API for a bake's analysis (tests pass their own fetch). */
  readonly fetch?: typeof fetch;
}

export interface AppliedItems {
  /** The schema version the last schema-reporting item left, if any ran. */
  readonly schemaVersion: string | null;
  /** Each item's result, in order (undefined for a skipped item). */
  readonly results: readonly (StepResult | undefined)[];
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The one apply loop: runs plan items in order on their hosts, each recorded by the runner.
 * Items marked `together` run host by host at once (each host's in order, at most the runner's
 * `parallel` hosts at a time). Throws at the first item that fails (a StepFailedError naming host
 * and step, a schema mismatch, or the refusal a read-only check answered); best-effort items are
 * noted instead. When a host fails among others, nothing is thrown before every host's running
 * step has ended (see PlanItem.together): nothing is left running behind the failure.
 */
export async function applyItems(ctx: ApplyContext, items: readonly PlanItem[]): Promise<AppliedItems> {
  let schemaVersion: string | null = null;
  const results: (StepResult | undefined)[] = new Array(items.length).fill(undefined);
  const apply = async (i: number, signal?: AbortSignal) => {
    const done = await applyItem(ctx, items[i]!, signal);
    results[i] = done.result;
    if (done.schemaVersion !== undefined) schemaVersion = done.schemaVersion;
  };
  for (let i = 0; i < items.length; ) {
    const { together, batch } = items[i]!;
    let end = i + 1;
    while (together && end < items.length && items[end]!.together === together && items[end]!.batch === batch)
      end++;
    if (together) await applyTogether(ctx, items, [i, end], together, apply);
    else await apply(i);
    i = end;
  }
  return { schemaVersion, results };
}

/** Items [from, to) by host: every host's in order, the hosts at once (see PlanItem.together). */
async function applyTogether(
  ctx: ApplyContext,
  items: readonly PlanItem[],
  [from, to]: readonly [number, number],
  onFailure: "end" | "finish",
  apply: (i: number, signal?: AbortSignal) => Promise<void>,
): Promise<void> {
  const lanes = new Map<string, number[]>();
  for (let i = from; i < to; i++) {
    const host = items[i]!.host;
    lanes.set(host, [...(lanes.get(host) ?? []), i]);
  }
  const ending = new AbortController();
  let failure: { readonly error: unknown } | undefined;
  await forEachAtOnce([...lanes.values()], ctx.runner.parallel, async (lane) => {
    for (const [n, i] of lane.entries()) {
      // After a failure no host begins; with "end" no host takes its next step either.
      if (failure && (n === 0 || onFailure === "end")) return;
      try {
        await apply(i, onFailure === "end" ? ending.signal : undefined);
      } catch (error) {
        if (!failure) {
          failure = { error };
          ending.abort();
        }
        return;
      }
    }
  });
  if (failure) throw failure.error;
}

/** One plan item on its host: its result, and the schema version it reported (if it reports one). */
async function applyItem(
  ctx: ApplyContext,
  item: PlanItem,
  signal?: AbortSignal,
): Promise<{ result: StepResult | undefined; schemaVersion?: string }> {
  const host = ctx.hosts.get(item.host)!;
  if (item.onlySwitched && !ctx.switched.has(item.host)) return { result: undefined };
  if (item.bake) {
    let failure: unknown;
    const result = await ctx.runner.record(host.name, item.step, async () => {
      const baked = await bake(ctx, host, item);
      failure = baked.failure;
      return baked.result;
    });
    if (failure) throw failure;
    return { result };
  }
  if (item.health) {
    const { result, probes } = await checkHealth(ctx, host, item);
    if (!result) {
      throw new StepFailedError(
        "unhealthy",
        `${host.name}: ${item.health.tag} failed its health check ${probes} time(s)${
          item.health.expectTag ? ` (the body must name ${item.health.expectTag})` : ""
        }`,
        { details: { host: host.name, step: "health" } },
      );
    }
    return { result };
  }
  const result = await ctx.runner.step(host, item.step, signal ? { signal } : {});
  const ok = result.exitCode === 0 && !result.timedOut && !result.connectionLost && !result.interrupted;
  if (!ok) {
    if (item.refusal && result.exitCode === item.refusal.exitCode) {
      const { kind, code, message, hint } = item.refusal;
      throw kind === "usage"
        ? new UsageError(code, message, hint ? { hint } : {})
        : new StateError(code, message, hint ? { hint } : {});
    }
    const failure = stepFailure(host.name, item.step, result);
    if (item.bestEffort) {
      await ctx.runner.note(`${host.name}: ${item.step.id} did not succeed (${failure.message})`);
      return { result };
    }
    throw failure;
  }
  if (item.phase === "switch" && !item.health) ctx.switched.add(item.host);
  if (item.reportsSlot) {
    const slot = parseSlotStart(result.stdout);
    if (!slot)
      throw new ExternalError(
        "slot_unreadable",
        `${host.name}: ${item.step.id} did not say which slot it started ${item.step.title}`,
      );
    ctx.slots.set(item.host, slot.port);
    return { result };
  }
  if (!item.reportsSchema) return { result };
  const schemaVersion = parseSchemaVersion(host.name, result.stdout);
  if (item.expectSchema !== undefined && schemaVersion !== item.expectSchema) {
    throw new ExternalError(
      "schema_mismatch",
      `${host.name}: the schema is at version ${schemaVersion}, expected ${item.expectSchema}`,
    );
  }
  return { result, schemaVersion };
}

/** The last output line of a schema-reporting step: the schema version. */
export function parseSchemaVersion(host: string, stdout: string): string {
  const out = stdout.trim().split("\n").at(-1)?.trim() ?? "";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(out)) {
    throw new ExternalError(
      "schema_version_unreadable",
      `${host}: schema_version printed ${JSON.stringify(out.slice(0, 40))}, expected a version`,
    );
  }
  return out;
}

/** A health item's spec with its URL on the slot's port, when it checks a blue/green instance. */
export function healthOn(ctx: ApplyContext, item: PlanItem): HealthSpec {
  const h = item.health!;
  const port = h.onSlot ? ctx.slots.get(item.host) : undefined;
  return port === undefined ? h : { ...h, url: urlOnPort(h.url, port) };
}

/** The wait after a first failed health probe; each next one doubles, up to the configured interval. */
const FIRST_HEALTH_WAIT_MS = 100;

/**
 * Health-checks one host from the host (curl) or from relctl: the first probe at once, then
 * probes after waits that start at 100 ms and double up to the interval, until the waits add up
 * to (attempts − 1) × interval (the window a fixed interval gives). Healthy means a 2xx answer
 * and, with expect_version, a body that names the release: so an old process still answering on
 * the port cannot pass for the new release. Returns the healthy result (or none) and the probes.
 */
async function checkHealth(
  ctx: ApplyContext,
  host: EnvironmentHost,
  item: PlanItem,
): Promise<{ result: StepResult | undefined; probes: number }> {
  const h = healthOn(ctx, item);
  const sleep = ctx.sleep ?? defaultSleep;
  const interruptions = ctx.runner.interruptions;
  const window = (h.attempts - 1) * h.intervalMs;
  let waited = 0;
  let wait = Math.min(FIRST_HEALTH_WAIT_MS, h.intervalMs);
  for (let n = 1; ; n++) {
    // Interrupted while waiting for this host: stop waiting (the run compensates as planned).
    if (ctx.runner.interruptions > interruptions) return { result: undefined, probes: n - 1 };
    const result = await probeOnce(ctx, host, h, n);
    if (healthy(h, result)) return { result, probes: n };
    if (result.exitCode === 0 && h.expectTag) {
      await ctx.runner.note(
        `${host.name}: ${h.url} answered, but not as ${h.expectTag} (health.expect_version): an old process may still be running`,
      );
    }
    if (waited >= window) return { result: undefined, probes: n };
    const ms = Math.min(wait, window - waited);
    await sleep(ms);
    waited += ms;
    wait = Math.min(wait * 2, h.intervalMs);
  }
}

/** One health probe, recorded: from the host (curl) or from relctl. */
export async function probeOnce(
  ctx: ApplyContext,
  host: EnvironmentHost,
  h: HealthSpec,
  n: number,
): Promise<StepResult> {
  const step = planHostHealthStep(h.url, h.timeoutMs, n);
  if (h.from === "host") return ctx.runner.step(host, step);
  const probe = ctx.probe ?? defaultHealthProbe;
  return ctx.runner.record(host.name, step, async () => {
    const started = Date.now();
    const r = await probe(h.url, h.timeoutMs);
    return {
      exitCode: r.ok ? 0 : 22,
      timedOut: false,
      connectionLost: false,
      durationMs: Date.now() - started,
      stdout: r.body,
      tail: `${r.status ?? r.error ?? ""} ${r.body}`.trim().slice(-500),
    };
  });
}

/** A 2xx answer that, with expect_version, names the release. */
export function healthy(h: HealthSpec, result: StepResult): boolean {
  return result.exitCode === 0 && (!h.expectTag || bodyNamesVersion(result.stdout, h.expectTag));
}
