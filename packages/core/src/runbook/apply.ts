import type { EnvironmentHost } from "../config/load.js";
import { ExternalError, StateError, UsageError } from "../errors.js";
import type { StepResult } from "../ports/executor.js";
import { bodyNamesVersion, defaultHealthProbe, type HealthProbe, planHostHealthStep } from "./health.js";
import type { PlanItem } from "./plan.js";
import { type Runner, StepFailedError, stepFailure } from "./runner.js";

/** What applying plan items needs: the run's runner, its hosts, and how to wait and probe. */
export interface ApplyContext {
  readonly runner: Runner;
  readonly hosts: ReadonlyMap<string, EnvironmentHost>;
  readonly probe?: HealthProbe;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Hosts the forward path has switched (a compensation switches only these back). */
  readonly switched: Set<string>;
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
 * Throws at the first item that fails (a StepFailedError naming host and step, a schema mismatch,
 * or the refusal a read-only check answered); best-effort items are noted instead.
 */
export async function applyItems(ctx: ApplyContext, items: readonly PlanItem[]): Promise<AppliedItems> {
  let schemaVersion: string | null = null;
  const results: (StepResult | undefined)[] = [];
  for (const item of items) {
    const host = ctx.hosts.get(item.host)!;
    if (item.onlySwitched && !ctx.switched.has(item.host)) {
      results.push(undefined);
      continue;
    }
    if (item.health) {
      const result = await checkHealth(ctx, host, item);
      results.push(result);
      if (!result) {
        throw new StepFailedError(
          "unhealthy",
          `${host.name}: ${item.health.tag} failed its health check ${item.health.attempts} time(s)${
            item.health.expectTag ? ` (the body must name ${item.health.expectTag})` : ""
          }`,
          { details: { host: host.name, step: "health" } },
        );
      }
      continue;
    }
    const result = await ctx.runner.step(host, item.step);
    results.push(result);
    const ok = result.exitCode === 0 && !result.timedOut && !result.connectionLost;
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
        continue;
      }
      throw failure;
    }
    if (item.phase === "switch" && !item.health) ctx.switched.add(item.host);
    if (item.reportsSchema) {
      schemaVersion = parseSchemaVersion(host.name, result.stdout);
      if (item.expectSchema !== undefined && schemaVersion !== item.expectSchema) {
        throw new ExternalError(
          "schema_mismatch",
          `${host.name}: the schema is at version ${schemaVersion}, expected ${item.expectSchema}`,
        );
      }
    }
  }
  return { schemaVersion, results };
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

/**
 * Health-checks one host, attempts × interval, from the host (curl) or from relctl. Healthy means
 * a 2xx answer and, with expect_version, a body that names the release: so an old process still
 * answering on the port cannot pass for the new release. Returns the healthy result, or undefined.
 */
async function checkHealth(
  ctx: ApplyContext,
  host: EnvironmentHost,
  item: PlanItem,
): Promise<StepResult | undefined> {
  const h = item.health!;
  const sleep = ctx.sleep ?? defaultSleep;
  const probe = ctx.probe ?? defaultHealthProbe;
  const interruptions = ctx.runner.interruptions;
  for (let attempt = 1; attempt <= h.attempts; attempt++) {
    // Interrupted while waiting for this host: stop waiting (the run compensates as planned).
    if (ctx.runner.interruptions > interruptions) return undefined;
    const step = planHostHealthStep(h.url, h.timeoutMs, attempt, h.attempts);
    const result =
      h.from === "host"
        ? await ctx.runner.step(host, step)
        : await ctx.runner.record(host.name, step, async () => {
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
    if (result.exitCode === 0 && (!h.expectTag || bodyNamesVersion(result.stdout, h.expectTag)))
      return result;
    if (result.exitCode === 0 && h.expectTag) {
      await ctx.runner.note(
        `${host.name}: ${h.url} answered, but not as ${h.expectTag} (health.expect_version): an old process may still be running`,
      );
    }
    if (attempt < h.attempts) await sleep(h.intervalMs);
  }
  return undefined;
}
