import { SpanStatusCode } from "@opentelemetry/api";
import {
  type Actor,
  type DeployOutcome,
  type DeployRequest,
  type DeployRequestStore,
  inSpan,
  isRelctlError,
  parseTraceparent,
  planRetry,
  refOf,
} from "@relctl/core";
import type { Logger } from "../logger.js";
import type { Deployer } from "./deployer.js";

export interface DeployWorkerOptions {
  readonly workerId: string;
  readonly intervalMs: number;
  /** A running request whose worker has not beaten for this long is marked unknown. */
  readonly staleMs?: number;
  /** A dispatched rollback whose workflow has not reported for this long is marked unknown. */
  readonly dispatchedStaleMs?: number;
  readonly heartbeatMs?: number;
  readonly maxAttempts?: number;
  readonly retryBaseMs?: number;
}

/**
 * Claims deploy requests one at a time (FOR UPDATE SKIP LOCKED, so any number of processes can run
 * it) and hands each to the service's deployer exactly once per claim.
 */
export function createDeployWorker(
  deps: { deploys: DeployRequestStore; deployerFor(service: string): Deployer; logger: Logger },
  options: DeployWorkerOptions,
) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const staleMs = options.staleMs ?? 120_000;
  const heartbeatMs = options.heartbeatMs ?? 20_000;

  /**
   * The run continues the trace of the press (or call) that requested it: its span is a child of
   * the stored traceparent, and the runbook's steps are children of this span.
   */
  function execute(request: DeployRequest): Promise<DeployOutcome> {
    const parent = parseTraceparent(request.traceparent);
    return inSpan(
      `deploy-request ${request.kind}`,
      {
        parent,
        attributes: {
          "relctl.request_id": request.id,
          "relctl.service": request.service,
          "relctl.environment": request.environment,
          "relctl.release_id": request.releaseId,
        },
      },
      async (span) => {
        const ref = refOf(span) ?? parent;
        const outcome = await run(request, {
          user: request.requestedBy,
          channel: request.channel,
          ...(ref
            ? { traceId: ref.traceId, spanId: ref.spanId }
            : request.traceId
              ? { traceId: request.traceId }
              : {}),
        });
        span.setAttribute("relctl.outcome", outcome.state);
        if (outcome.state === "failed" || outcome.state === "unknown")
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
        return outcome;
      },
    );
  }

  async function run(request: DeployRequest, actor: Actor): Promise<DeployOutcome> {
    const deployer = deps.deployerFor(request.service);
    const beat = setInterval(() => {
      deps.deploys.heartbeat(request, options.workerId).catch(() => {});
    }, heartbeatMs);
    try {
      if (request.kind === "deploy") {
        const started = await deployer.deploy(request.releaseId, request.environment, actor);
        return { state: "done", ...(started?.runUrl ? { runUrl: started.runUrl } : {}) };
      }
      const how = await deployer.rollback({
        service: request.service,
        environment: request.environment,
        toTag: request.toTag!,
        actor,
        releaseId: request.releaseId,
        requestId: request.id,
      });
      if (how === "dispatched") return { state: "dispatched" };
      if (typeof how === "object")
        return { state: "dispatched", ...(how.runUrl ? { runUrl: how.runUrl } : {}) };
      return { state: "done" };
    } catch (err) {
      const error = isRelctlError(err) ? err.message : "unexpected error";
      const details = (isRelctlError(err) ? err.details : undefined) as
        | { retryable?: boolean; ambiguous?: boolean }
        | undefined;
      if (details?.ambiguous) return { state: "unknown", error };
      if (details?.retryable) {
        const plan = planRetry({ kind: "transient" }, request.attempts, new Date(), {
          baseDelayMs: options.retryBaseMs ?? 2000,
          maxDelayMs: 60_000,
          maxAttempts: options.maxAttempts ?? 5,
        });
        if (plan.action === "retry") return { state: "pending", retryAt: plan.at, error };
      }
      if (!isRelctlError(err)) deps.logger.error("deploy request failed", { request: request.id, err });
      return { state: "failed", error };
    } finally {
      clearInterval(beat);
    }
  }

  async function runOnce(): Promise<number> {
    await deps.deploys.expireStale(staleMs, options.dispatchedStaleMs);
    let n = 0;
    for (;;) {
      const request = await deps.deploys.claim(options.workerId);
      if (!request) return n;
      n++;
      const outcome = await execute(request);
      deps.logger.info("deploy request", { request: request.id, kind: request.kind, state: outcome.state });
      await deps.deploys.finish(request, options.workerId, outcome);
    }
  }

  const tick = () => {
    if (stopped) return;
    running = runOnce()
      .catch((err) => deps.logger.error("deploy worker", { err }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };

  return {
    runOnce,
    start() {
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
