import type { EnvironmentHost, RolloutAnalysis } from "../config/load.js";
import type { Step, StepResult } from "../ports/executor.js";
import { type ApplyContext, healthOn, healthy, probeOnce } from "./apply.js";
import { type BakeSpec, boundsText, type PlanItem } from "./plan.js";
import { StepFailedError } from "./runner.js";

/**
 * A rollout's bake, after its first batch has switched (Argo Rollouts' pause with a background
 * analysis is the model): every interval, each baked host is health-probed and the analysis query
 * is measured against Prometheus' HTTP API. An unhealthy host, or more measurements out of bounds
 * than the analysis allows, aborts: the deploy's compensation then rolls every switched host
 * back. An empty answer or an unreachable Prometheus is inconclusive; a bake that never measured
 * anything conclusive fails, since nothing showed the release is good.
 */
export async function bake(
  ctx: ApplyContext,
  first: EnvironmentHost,
  item: PlanItem,
): Promise<{ result: StepResult; failure?: StepFailedError }> {
  const started = Date.now();
  try {
    return { result: await baking(ctx, first, item, started) };
  } catch (err) {
    if (!(err instanceof StepFailedError)) throw err;
    const line = err.message;
    return {
      result: {
        exitCode: 1,
        timedOut: false,
        connectionLost: false,
        durationMs: Date.now() - started,
        stdout: line,
        tail: line,
      },
      failure: err,
    };
  }
}

async function baking(
  ctx: ApplyContext,
  first: EnvironmentHost,
  item: PlanItem,
  started: number,
): Promise<StepResult> {
  const b = item.bake!;
  const sleep = ctx.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const interruptions = ctx.runner.interruptions;
  const total = `${Math.round(b.durationMs / 1000)}s`;
  const at = () => `at ${Math.round((Date.now() - started) / 1000)}s of the ${total} bake`;
  await ctx.runner.note(
    `baking ${b.tag} on ${b.hosts.join(", ")} for ${total}${b.analysis ? `: ${b.analysis.query}${boundsText(b.analysis)}` : ""}`,
  );
  let rounds = 0;
  let outOfBounds = 0;
  let conclusive = 0;
  let last = "";
  for (;;) {
    const left = started + b.durationMs - Date.now();
    if (left > 0) await sleep(Math.min(b.intervalMs, left));
    if (ctx.runner.interruptions > interruptions) {
      throw new StepFailedError("interrupted", `the bake of ${b.tag} was interrupted (${at()})`, {
        details: { host: first.name, step: "bake" },
      });
    }
    rounds++;
    for (const check of b.checks) {
      const host = ctx.hosts.get(check.host)!;
      const h = healthOn(ctx, { ...item, host: check.host, health: check.health });
      const result = await probeOnce(ctx, host, h, rounds);
      if (!healthy(h, result)) {
        throw new StepFailedError(
          "bake_unhealthy",
          `${check.host}: ${b.tag} failed its health check during the bake (${at()})`,
          { details: { host: check.host, step: "bake" } },
        );
      }
    }
    if (b.analysis) {
      const m = await measure(ctx, first.name, b, b.analysis, rounds);
      last = m.text;
      if (m.verdict !== "inconclusive") conclusive++;
      if (m.verdict === "fail") {
        outOfBounds++;
        if (outOfBounds > b.analysis.failureLimit) {
          throw new StepFailedError("analysis_failed", `analysis: ${m.text} (${at()})`, {
            details: { host: first.name, step: "analysis" },
          });
        }
      }
    }
    if (Date.now() - started >= b.durationMs) break;
  }
  if (b.analysis && conclusive === 0) {
    throw new StepFailedError(
      "analysis_inconclusive",
      `analysis: no conclusive measurement in the ${total} bake (last: ${last || "none"})`,
      { details: { host: first.name, step: "analysis" } },
    );
  }
  const summary = `${b.tag} baked ${total} on ${b.hosts.join(", ")}: ${rounds} round(s) healthy${
    b.analysis ? `, analysis ${conclusive - outOfBounds}/${conclusive} within bounds (last: ${last})` : ""
  }`;
  await ctx.runner.note(summary);
  return {
    exitCode: 0,
    timedOut: false,
    connectionLost: false,
    durationMs: Date.now() - started,
    stdout: summary,
    tail: summary,
  };
}

/** A PromQL string literal's content (its quotes and backslashes escaped). */
function promString(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
}

/** The query with its placeholders filled in; {hosts} is a regex alternation of the host names. */
export function analysisQuery(b: BakeSpec, a: RolloutAnalysis): string {
  const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return a.query
    .replaceAll("{service}", promString(b.service))
    .replaceAll("{environment}", promString(b.environment))
    .replaceAll("{tag}", promString(b.tag))
    .replaceAll("{hosts}", promString(b.hosts.map(escapeRe).join("|")));
}

interface Measurement {
  readonly verdict: "pass" | "fail" | "inconclusive";
  readonly text: string;
}

/** One instant query, recorded as an "analysis" step: every value must be within the bounds. */
async function measure(
  ctx: ApplyContext,
  hostName: string,
  b: BakeSpec,
  a: RolloutAnalysis,
  n: number,
): Promise<Measurement> {
  const query = analysisQuery(b, a);
  const url = `${a.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`;
  const step: Step = {
    id: "analysis",
    title: `${query}${boundsText(a)}${n > 1 ? ` (measurement ${n})` : ""}`,
    argv: ["GET", url],
    timeoutMs: 10_000,
  };
  let m: Measurement = { verdict: "inconclusive", text: "" };
  await ctx.runner.record(hostName, step, async () => {
    const started = Date.now();
    m = await query1(ctx.fetch ?? fetch, url, a);
    return {
      exitCode: m.verdict === "fail" ? 1 : 0,
      timedOut: false,
      connectionLost: false,
      durationMs: Date.now() - started,
      stdout: m.text,
      tail: m.text,
    };
  });
  return m;
}

async function query1(fetchFn: typeof fetch, url: string, a: RolloutAnalysis): Promise<Measurement> {
  let body: {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: unknown };
  };
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(10_000) });
    body = (await res.json()) as typeof body;
    if (res.status === 400 || res.status === 422) {
      // The query itself is wrong: no later measurement can pass.
      return { verdict: "fail", text: `Prometheus refused the query: ${body.error ?? res.status}` };
    }
    if (!res.ok || body.status !== "success")
      return {
        verdict: "inconclusive",
        text: `Prometheus answered ${res.status}: ${body.error ?? ""}`.trim(),
      };
  } catch (err) {
    return { verdict: "inconclusive", text: `Prometheus unreachable: ${(err as Error).message}` };
  }
  const values = valuesOf(body.data);
  if (values.length === 0) return { verdict: "inconclusive", text: "no data" };
  const bad = values.find(
    (v) => Number.isNaN(v) || (a.max !== undefined && v > a.max) || (a.min !== undefined && v < a.min),
  );
  const shown = values.slice(0, 5).map(String).join(", ");
  if (bad === undefined) return { verdict: "pass", text: `${shown}${boundsText(a)}` };
  const why = Number.isNaN(bad)
    ? "NaN"
    : a.max !== undefined && bad > a.max
      ? `${bad} above max ${a.max}`
      : `${bad} below min ${a.min}`;
  return { verdict: "fail", text: `${why} (values: ${shown})` };
}

/** The numbers of an instant query's answer: a scalar, or each sample of a vector. */
function valuesOf(data: { resultType?: string; result?: unknown } | undefined): number[] {
  if (!data) return [];
  if (data.resultType === "scalar" && Array.isArray(data.result)) return [Number(data.result[1])];
  if (data.resultType === "vector" && Array.isArray(data.result))
    return (data.result as { value?: [number, string] }[]).map((s) => Number(s.value?.[1]));
  return [];
}
