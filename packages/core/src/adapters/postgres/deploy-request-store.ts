import type { Sql, TransactionSql } from "postgres";
import type { Actor, Channel } from "../../domain/release.js";
import { StateError } from "../../errors.js";
import { traceparentOf } from "../../telemetry.js";
import { OutboxStore } from "./outbox-store.js";
import { ReleaseStore } from "./release-store.js";

export type DeployRequestKind = "deploy" | "rollback";
/**
 * pending → running (a worker or a relctl command has it) → done | failed | unknown; a rollback
 * handed to a workflow is `dispatched` until the workflow reports its end. pending, running and
 * dispatched rollbacks are open: one per service and environment.
 */
export type DeployRequestState = "pending" | "running" | "dispatched" | "done" | "failed" | "unknown";

/** A production deploy (or rollback) that must start once: written in the transaction that decided it. */
export interface DeployRequest {
  readonly id: number;
  readonly kind: DeployRequestKind;
  readonly releaseId: number;
  readonly service: string;
  readonly environment: string;
  readonly toTag: string | null;
  readonly requestedBy: string;
  readonly channel: Channel;
  readonly traceId: string | null;
  /** The W3C traceparent of the span that requested it: the worker's span is its child. */
  readonly traceparent: string | null;
  readonly state: DeployRequestState;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly createdAt: Date;
}

/** How a claimed request ended. `unknown`: it may or may not have started; a person must look. */
export type DeployOutcome =
  /** runUrl: the page of the workflow run a dispatch started, when GitHub listed it. */
  | { readonly state: "done"; readonly note?: string; readonly runUrl?: string }
  | { readonly state: "dispatched"; readonly runUrl?: string }
  | { readonly state: "pending"; readonly retryAt: Date; readonly error: string }
  | { readonly state: "failed" | "unknown"; readonly error: string };

type Row = Record<string, unknown>;

/** The requesting span as a W3C traceparent, when the actor carries one. */
function traceparentOfActor(actor: Actor): string | null {
  return actor.traceId && actor.spanId
    ? traceparentOf({ traceId: actor.traceId, spanId: actor.spanId })
    : null;
}

function requestFromRow(r: Row): DeployRequest {
  return {
    id: Number(r.id),
    kind: r.kind as DeployRequestKind,
    releaseId: Number(r.release_id),
    service: r.service_name as string,
    environment: r.environment as string,
    toTag: (r.to_tag as string | null) ?? null,
    requestedBy: r.requested_by as string,
    channel: r.channel as Channel,
    traceId: (r.trace_id as string | null) ?? null,
    traceparent: (r.traceparent as string | null) ?? null,
    state: r.state as DeployRequestState,
    attempts: Number(r.attempts),
    lastError: (r.last_error as string | null) ?? null,
    createdAt: r.created_at as Date,
  };
}

/** The refusal of a second rollback while one is open, naming it. */
export function rollbackUnderWay(open: DeployRequest): StateError {
  const at = `${open.createdAt.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  return new StateError(
    "rollback_in_progress",
    `a rollback of ${open.service} to ${open.toTag} is under way on ${open.environment}, requested by ${open.requestedBy} at ${at}`,
    {
      hint: "wait for it to end (relctl status shows it); a request that stopped reporting turns unknown for a person to check",
      details: {
        request_id: open.id,
        to_tag: open.toTag,
        requested_by: open.requestedBy,
        requested_at: open.createdAt.toISOString(),
        state: open.state,
      },
    },
  );
}

/**
 * Deploy requests: a small job outbox. A worker claims one with FOR UPDATE SKIP LOCKED and marks it
 * `running` before it acts, so no two workers (in one process or many) start the same request, and a
 * worker that dies mid-request leaves it `running` until `expireStale` marks it `unknown` (never
 * re-run by itself: starting a production deploy twice is worse than asking a person).
 */
export class DeployRequestStore {
  private readonly audit: ReleaseStore;
  private readonly outbox: OutboxStore;

  constructor(readonly sql: Sql) {
    this.audit = new ReleaseStore(sql);
    this.outbox = new OutboxStore(sql);
  }

  /** In the approval's transaction: the one production deploy of this release. Idempotent. */
  async requestDeploy(
    tx: TransactionSql,
    input: { releaseId: number; service: string; environment?: string },
    actor: Actor,
  ): Promise<DeployRequest | undefined> {
    const [row] = await tx`
      INSERT INTO deploy_requests (kind, release_id, service_name, environment, requested_by, channel, trace_id,
        traceparent)
      VALUES ('deploy', ${input.releaseId}, ${input.service}, ${input.environment ?? "production"},
              ${actor.user}, ${actor.channel}, ${actor.traceId ?? null}, ${traceparentOfActor(actor)})
      ON CONFLICT DO NOTHING RETURNING *`;
    if (!row) return undefined;
    const request = requestFromRow(row);
    await this.audit.appendAudit(tx, actor, "deploy.request", input.releaseId, null, requestJson(request));
    return request;
  }

  /** A rollback of `releaseId`'s service to `toTag`; refused while another rollback of it is open. */
  async requestRollback(
    input: { releaseId: number; service: string; environment?: string; toTag: string },
    actor: Actor,
  ): Promise<DeployRequest> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx`
        INSERT INTO deploy_requests (kind, release_id, service_name, environment, to_tag, requested_by, channel, trace_id,
          traceparent)
        VALUES ('rollback', ${input.releaseId}, ${input.service}, ${input.environment ?? "production"},
                ${input.toTag}, ${actor.user}, ${actor.channel}, ${actor.traceId ?? null}, ${traceparentOfActor(actor)})
        ON CONFLICT DO NOTHING RETURNING *`;
      if (!row) throw await this.refusalOfOpen(tx, input.service, input.environment ?? "production");
      const request = requestFromRow(row);
      await this.audit.appendAudit(
        tx,
        actor,
        "rollback.request",
        input.releaseId,
        null,
        requestJson(request),
      );
      return request;
    }) as Promise<DeployRequest>;
  }

  /** Why a rollback request could not be written: the open one, named. */
  private async refusalOfOpen(tx: TransactionSql, service: string, environment: string): Promise<StateError> {
    const open = await this.openRollbackOf(service, environment, tx);
    return open
      ? rollbackUnderWay(open)
      : new StateError("rollback_in_progress", `a rollback of ${service} is already under way`);
  }

  /** The open (pending, running or dispatched) rollback of a service and environment, if any. */
  async openRollbackOf(
    service: string,
    environment: string,
    tx: Sql | TransactionSql = this.sql,
  ): Promise<DeployRequest | undefined> {
    const [row] = await tx`SELECT * FROM deploy_requests
      WHERE kind = 'rollback' AND service_name = ${service} AND environment = ${environment}
        AND state IN ('pending', 'running', 'dispatched')`;
    return row ? requestFromRow(row) : undefined;
  }

  /**
   * A rollback run by a relctl command (`relctl rollback`): open while it runs, so every other
   * request for a rollback of that service and environment is refused, naming it. Refused itself
   * when one is open. Beats while the run lives; `finish` records how it ended.
   */
  async openRollback(
    input: { releaseId: number; service: string; environment: string; toTag: string },
    actor: Actor,
  ): Promise<{ finish(ok: boolean, error?: string): Promise<void> }> {
    const workerId = `${actor.channel}:${actor.user}:${process.pid}`;
    const request = (await this.sql.begin(async (tx) => {
      const [row] = await tx`
        INSERT INTO deploy_requests (kind, release_id, service_name, environment, to_tag, requested_by,
          channel, trace_id, state, attempts, claimed_by, heartbeat_at)
        VALUES ('rollback', ${input.releaseId}, ${input.service}, ${input.environment}, ${input.toTag},
          ${actor.user}, ${actor.channel}, ${actor.traceId ?? null}, 'running', 1, ${workerId}, now())
        ON CONFLICT DO NOTHING RETURNING *`;
      if (!row) throw await this.refusalOfOpen(tx, input.service, input.environment);
      const opened = requestFromRow(row);
      await this.audit.appendAudit(tx, actor, "rollback.request", input.releaseId, null, requestJson(opened));
      return opened;
    })) as DeployRequest;
    return this.holdRunning(request, workerId);
  }

  /**
   * A deploy started by hand (`relctl deploy`) takes over the release's pending deploy request, so
   * the approvals service's worker never starts the same deploy again. Beats while the run lives;
   * `finish` records how it ended. Undefined when no request is pending (none, or a worker has it).
   */
  async takeOver(
    releaseId: number,
    environment: string,
    actor: Actor,
  ): Promise<{ finish(ok: boolean, error?: string): Promise<void> } | undefined> {
    const workerId = `${actor.channel}:${actor.user}:${process.pid}`;
    const [row] = await this.sql`
      UPDATE deploy_requests SET state = 'running', attempts = attempts + 1, claimed_by = ${workerId},
        heartbeat_at = now()
      WHERE release_id = ${releaseId} AND kind = 'deploy' AND environment = ${environment} AND state = 'pending'
      RETURNING *`;
    if (!row) return undefined;
    const request = requestFromRow(row);
    return this.holdRunning(request, workerId);
  }

  /** A request a relctl command runs itself: it beats while the run lives; `finish` records the end. */
  private holdRunning(
    request: DeployRequest,
    workerId: string,
  ): { finish(ok: boolean, error?: string): Promise<void> } {
    const beat = setInterval(() => void this.heartbeat(request, workerId).catch(() => {}), 10_000);
    beat.unref();
    return {
      finish: async (ok, error) => {
        clearInterval(beat);
        await this.finish(
          request,
          workerId,
          ok ? { state: "done" } : { state: "failed", error: error ?? `the ${request.kind} did not succeed` },
        );
      },
    };
  }

  /** Claims the oldest pending request no other worker holds, and marks it running. */
  async claim(workerId: string): Promise<DeployRequest | undefined> {
    const [row] = await this.sql`
      UPDATE deploy_requests SET state = 'running', attempts = attempts + 1, claimed_by = ${workerId},
        heartbeat_at = now()
      WHERE id = (
        SELECT id FROM deploy_requests WHERE state = 'pending' AND available_at <= now()
        ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING *`;
    return row ? requestFromRow(row) : undefined;
  }

  async heartbeat(request: DeployRequest, workerId: string): Promise<void> {
    await this.sql`UPDATE deploy_requests SET heartbeat_at = now()
      WHERE id = ${request.id} AND state = 'running' AND claimed_by = ${workerId}`;
  }

  /** Records the outcome, its audit event and its chat notice in one transaction. */
  async finish(request: DeployRequest, workerId: string, outcome: DeployOutcome): Promise<void> {
    await this.sql.begin(async (tx) => {
      const done = await tx`
        UPDATE deploy_requests SET state = ${outcome.state},
          available_at = ${outcome.state === "pending" ? outcome.retryAt : tx`available_at`},
          last_error = ${"error" in outcome ? outcome.error : null},
          heartbeat_at = now(),
          finished_at = ${outcome.state === "pending" || outcome.state === "dispatched" ? null : tx`now()`}
        WHERE id = ${request.id} AND state = 'running' AND claimed_by = ${workerId}
        RETURNING id`;
      if (done.length === 0) return;
      await this.announce(
        tx,
        request,
        outcome.state,
        "error" in outcome ? outcome.error : null,
        "runUrl" in outcome ? outcome.runUrl : undefined,
      );
    });
  }

  /**
   * Running requests whose worker stopped beating, and dispatched ones whose workflow has not
   * reported for `dispatchedStaleMs`, are marked unknown and announced: a person checks them.
   */
  async expireStale(staleMs: number, dispatchedStaleMs = 3_600_000): Promise<DeployRequest[]> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        UPDATE deploy_requests SET state = 'unknown', finished_at = now(),
          last_error = CASE WHEN state = 'running'
            THEN 'the worker stopped while it ran; it may or may not have started'
            ELSE 'the workflow has not reported its end; it may or may not have run' END
        WHERE (state = 'running' AND heartbeat_at < now() - ${staleMs} * interval '1 millisecond')
           OR (state = 'dispatched' AND heartbeat_at < now() - ${dispatchedStaleMs} * interval '1 millisecond')
        RETURNING *`;
      const expired = rows.map(requestFromRow);
      for (const r of expired) await this.announce(tx, r, "unknown", r.lastError);
      return expired;
    }) as Promise<DeployRequest[]>;
  }

  async listRequests(filter: { releaseId?: number } = {}): Promise<DeployRequest[]> {
    const rows = await this.sql`SELECT * FROM deploy_requests
      WHERE (${filter.releaseId ?? null}::bigint IS NULL OR release_id = ${filter.releaseId ?? null}) ORDER BY id`;
    return rows.map(requestFromRow);
  }

  private async announce(
    tx: TransactionSql,
    request: DeployRequest,
    state: DeployRequestState,
    error: string | null,
    runUrl?: string,
  ): Promise<void> {
    const actor: Actor = {
      user: request.requestedBy,
      channel: "system",
      ...(request.traceId ? { traceId: request.traceId } : {}),
    };
    await this.audit.appendAudit(tx, actor, `${request.kind}.${state}`, request.releaseId, null, {
      ...requestJson(request),
      ...(error ? { error } : {}),
      ...(runUrl ? { run_url: runUrl } : {}),
    });
    if (state === "pending") return;
    await this.outbox.enqueue(tx, {
      to: "release_chats",
      kind: "notice",
      eventKey: `deploy-request:${request.id}:${state}`,
      releaseId: request.releaseId,
      payload: {
        notice: `${request.kind}_${state}`,
        to_tag: request.toTag,
        error,
        ...(runUrl ? { run_url: runUrl } : {}),
        // The card shows an open rollback: it changes when the request does.
        ...(request.kind === "rollback" ? { refresh_card: true } : {}),
      },
    });
  }
}

function requestJson(r: DeployRequest): Record<string, unknown> {
  return { request_id: r.id, kind: r.kind, service: r.service, environment: r.environment, to_tag: r.toTag };
}
