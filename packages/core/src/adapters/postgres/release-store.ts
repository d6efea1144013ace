import type { Sql, TransactionSql } from "postgres";
import { type ApprovalPolicy, type Decision, planApproval } from "../../domain/approvals.js";
import { validateService, validateTag } from "../../domain/names.js";
import type {
  Actor,
  ApprovalRow,
  ApprovedEntry,
  AuditEvent,
  Channel,
  CreateReleaseInput,
  Release,
  TransitionFields,
} from "../../domain/release.js";
import { planReleaseCreate, startsNewAttempt } from "../../domain/release.js";
import { type ReleaseStatus, type StatusGroup, statusesIn } from "../../domain/statuses.js";
import { assertTransition, isTerminal, type Mover } from "../../domain/transitions.js";
import { StateError, UsageError } from "../../errors.js";

export interface DecideResult {
  readonly release: Release;
  readonly approval: ApprovalRow;
  /** True for exactly one decision per release: the one that completed the policy. */
  readonly completed: boolean;
}

/** Hooks that run inside the decision's transaction, under the release row lock. */
export interface DecideOptions {
  /** Throws to refuse the decision (e.g. a press on a card that no longer shows this state). */
  readonly beforeDecide?: (release: Release) => void;
  /** Writes that must commit with the decision (e.g. the production deploy request). */
  readonly onDecided?: (tx: TransactionSql, result: DecideResult) => Promise<void>;
}

type Row = Record<string, unknown>;
type Tx = TransactionSql | Sql;

export function releaseFromRow(r: Row): Release {
  return {
    id: Number(r.id),
    service: r.service_name as string,
    tag: r.release_tag as string,
    attempt: Number(r.attempt ?? 1),
    rollbackToTag: (r.rollback_to_tag as string | null) ?? null,
    status: r.status as ReleaseStatus,
    initiatedBy: r.initiated_by as string,
    githubRunId: (r.github_run_id as string | null) ?? null,
    githubActionLink: (r.github_action_link as string | null) ?? null,
    githubRef: (r.github_ref as string | null) ?? null,
    approvedList: (r.approved_list as ApprovedEntry[] | null) ?? [],
    createdAt: r.created_at as Date,
    startedAt: (r.started_at as Date | null) ?? null,
    completedAt: (r.completed_at as Date | null) ?? null,
    updatedAt: r.updated_at as Date,
  };
}

function approvalFromRow(r: Row): ApprovalRow {
  return {
    id: Number(r.id),
    releaseId: Number(r.release_id),
    role: r.role as string,
    user: r.user_id as string,
    decision: r.decision as Decision,
    reason: (r.reason as string | null) ?? null,
    at: r.at as Date,
  };
}

function auditFromRow(r: Row): AuditEvent {
  return {
    id: Number(r.id),
    at: r.at as Date,
    actor: r.actor as string,
    channel: r.channel as Channel,
    action: r.action as string,
    releaseId: r.release_id === null ? null : Number(r.release_id),
    before: r.before,
    after: r.after,
    traceId: (r.trace_id as string | null) ?? null,
  };
}

/** What the audit log keeps of a release: the fields a reviewer compares. */
function snapshot(r: Release): Record<string, unknown> {
  return { status: r.status, tag: r.tag, rollback_to_tag: r.rollbackToTag };
}

export function validateReleaseId(value: unknown): number {
  const n = typeof value === "string" && /^\d{1,15}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(
      "invalid_release_id",
      `release id: expected a positive whole number, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

const ROLLBACK_PROGRESS = new Set<ReleaseStatus>(["production_rollback", "rollback_done", "rollback_failed"]);

/**
 * The release store: every write is one transaction that locks the release row, checks the rule
 * (transition table, approval policy), writes, and appends the audit event.
 */
export class ReleaseStore {
  constructor(readonly sql: Sql) {}

  async appendAudit(
    tx: Tx,
    actor: Actor,
    action: string,
    releaseId: number | null,
    before: unknown,
    after: unknown,
  ): Promise<void> {
    await tx`INSERT INTO audit_events (actor, channel, action, release_id, before, after, trace_id)
      VALUES (${actor.user}, ${actor.channel}, ${action}, ${releaseId},
              ${before === null ? null : tx.json(before as never)}, ${after === null ? null : tx.json(after as never)},
              ${actor.traceId ?? null})`;
  }

  /**
   * Creates the release, or returns the one under way for the same (service, tag). When the tag's
   * latest release has ended (see startsNewAttempt), a new attempt is created beside it.
   * Idempotent under concurrency: (service, tag, attempt) is unique.
   */
  async createRelease(
    input: CreateReleaseInput,
    actor: Actor,
  ): Promise<{ release: Release; created: boolean }> {
    const service = validateService(input.service);
    const tag = validateTag(input.tag);
    if (input.rollbackToTag) validateTag(input.rollbackToTag, "rollback_to_tag");
    return this.sql.begin(async (tx) => {
      const [latestRow] = await tx`
        SELECT * FROM releases WHERE service_name = ${service} AND release_tag = ${tag}
        ORDER BY attempt DESC LIMIT 1 FOR UPDATE`;
      const latest = latestRow ? releaseFromRow(latestRow) : undefined;
      if (latest && !startsNewAttempt(latest)) return { release: latest, created: false };
      const attempt = (latest?.attempt ?? 0) + 1;
      const [row] = await tx`
        INSERT INTO releases (service_name, release_tag, attempt, rollback_to_tag, initiated_by, github_run_id, github_action_link, github_ref)
        VALUES (${service}, ${tag}, ${attempt}, ${input.rollbackToTag ?? null}, ${actor.user}, ${input.githubRunId ?? null},
                ${input.githubActionLink ?? null}, ${input.githubRef ?? null})
        ON CONFLICT (service_name, release_tag, attempt) DO NOTHING
        RETURNING *`;
      if (row) {
        const release = releaseFromRow(row);
        await this.appendAudit(tx, actor, "release.create", release.id, null, {
          ...snapshot(release),
          ...(latest ? { attempt, previous_attempt: { release_id: latest.id, status: latest.status } } : {}),
        });
        return { release, created: true };
      }
      const [existing] = await tx`
        SELECT * FROM releases WHERE service_name = ${service} AND release_tag = ${tag} AND attempt = ${attempt}`;
      return { release: releaseFromRow(existing!), created: false };
    }) as Promise<{ release: Release; created: boolean }>;
  }

  /*
   * Pipelined writes (the API's POST and PATCH /release): the same rules as createRelease and
   * transition, in two round trips on a transaction the caller holds. `lock…` and `readClock` are
   * sent together first; the `plan…` functions are pure; `write…` sends the writes, which the
   * caller follows with COMMIT in the same round trip. Each `lock…`/`write…` sends its statements
   * as it is called: the caller awaits them only after sending the whole round trip.
   */

  /**
   * The transaction's clock (now() stays the same for the whole transaction) and, for a create
   * (`newId`), the id its release would take.
   */
  async readClock(tx: Tx, newId: boolean): Promise<{ now: Date; nextId: number }> {
    const [row] = newId
      ? await tx`SELECT now() AS now, nextval(pg_get_serial_sequence('releases', 'id')) AS next_id`
      : await tx`SELECT now() AS now, 0 AS next_id`;
    return { now: row!.now as Date, nextId: Number(row!.next_id) };
  }

  /** The tag's latest attempt, locked (as createRelease locks it). */
  async lockLatestAttempt(tx: Tx, service: string, tag: string): Promise<Release | undefined> {
    const [row] = await tx`
      SELECT * FROM releases WHERE service_name = ${service} AND release_tag = ${tag}
      ORDER BY attempt DESC LIMIT 1 FOR UPDATE`;
    return row ? releaseFromRow(row) : undefined;
  }

  /** The release, locked (as withLockedRelease locks it); undefined when there is none. */
  async lockRelease(tx: Tx, id: number): Promise<Release | undefined> {
    const [row] = await tx`SELECT * FROM releases WHERE id = ${id} FOR UPDATE`;
    return row ? releaseFromRow(row) : undefined;
  }

  /** createRelease's decision: the attempt under way, or the new attempt's row as writeCreated stores it. */
  planCreate(
    latest: Release | undefined,
    input: CreateReleaseInput,
    actor: Actor,
    clock: { now: Date; nextId: number },
  ): { release: Release; created: boolean } {
    const service = validateService(input.service);
    const tag = validateTag(input.tag);
    if (input.rollbackToTag) validateTag(input.rollbackToTag, "rollback_to_tag");
    return planReleaseCreate(latest, { ...input, service, tag }, actor, clock.nextId, clock.now);
  }

  /**
   * Inserts planCreate's new attempt and its audit event. A concurrent create of the same attempt
   * fails it with a unique violation (isAttemptTaken): the caller runs the request again.
   */
  writeCreated(tx: Tx, release: Release, actor: Actor, latest: Release | undefined): Promise<unknown> {
    const inserted = tx`
      INSERT INTO releases (id, service_name, release_tag, attempt, rollback_to_tag, status, initiated_by,
                            github_run_id, github_action_link, github_ref, approved_list, created_at, updated_at)
      VALUES (${release.id}, ${release.service}, ${release.tag}, ${release.attempt}, ${release.rollbackToTag},
              ${release.status}, ${release.initiatedBy}, ${release.githubRunId}, ${release.githubActionLink},
              ${release.githubRef}, '[]'::jsonb, now(), now())`.execute();
    const audited = this.appendAudit(tx, actor, "release.create", release.id, null, {
      ...snapshot(release),
      ...(latest
        ? { attempt: release.attempt, previous_attempt: { release_id: latest.id, status: latest.status } }
        : {}),
    });
    return Promise.all([inserted, audited]);
  }

  /**
   * transition's decision for a locked release: the row after the move, as writeTransition stores
   * it; undefined for the moves that settle a rollback handed to a workflow, which take
   * transitionLocked.
   */
  planTransition(
    before: Release,
    to: ReleaseStatus,
    by: Mover,
    fields: TransitionFields,
    now: Date,
  ): Release | undefined {
    if (fields.rollbackToTag) validateTag(fields.rollbackToTag, "rollback_to_tag");
    assertTransition(before.status, to, by);
    if (ROLLBACK_PROGRESS.has(to)) return undefined;
    return {
      ...before,
      status: to,
      rollbackToTag: fields.rollbackToTag !== undefined ? fields.rollbackToTag : before.rollbackToTag,
      githubRunId: fields.githubRunId === undefined ? before.githubRunId : fields.githubRunId,
      githubActionLink:
        fields.githubActionLink === undefined ? before.githubActionLink : fields.githubActionLink,
      startedAt: before.startedAt ?? now,
      completedAt: isTerminal(to) ? now : null,
      updatedAt: now,
    };
  }

  /** A concurrent create took the attempt writeCreated inserts (see there). */
  static isAttemptTaken(err: unknown): boolean {
    const e = err as { code?: unknown; constraint_name?: unknown };
    return e?.code === "23505" && e.constraint_name === "releases_service_tag_attempt_key";
  }

  /** Stores planTransition's row and appends its audit event. */
  writeTransition(tx: Tx, before: Release, after: Release, actor: Actor): Promise<unknown> {
    const updated = tx`
      UPDATE releases SET
        status = ${after.status},
        rollback_to_tag = ${after.rollbackToTag},
        github_run_id = ${after.githubRunId},
        github_action_link = ${after.githubActionLink},
        started_at = coalesce(started_at, now()),
        completed_at = ${after.completedAt ? tx`now()` : tx`NULL`},
        updated_at = now()
      WHERE id = ${before.id}`.execute();
    const audited = this.appendAudit(
      tx,
      actor,
      "release.status",
      before.id,
      snapshot(before),
      snapshot(after),
    );
    return Promise.all([updated, audited]);
  }

  async getRelease(id: number): Promise<Release | undefined> {
    const [row] = await this.sql`SELECT * FROM releases WHERE id = ${id}`;
    return row ? releaseFromRow(row) : undefined;
  }

  async requireRelease(id: number): Promise<Release> {
    const r = await this.getRelease(id);
    if (!r) throw new UsageError("release_not_found", `release ${id}: no such release`);
    return r;
  }

  async findRelease(service: string, tag: string): Promise<Release | undefined> {
    const [row] = await this.sql`
      SELECT * FROM releases WHERE service_name = ${service} AND release_tag = ${tag}
      ORDER BY attempt DESC LIMIT 1`;
    return row ? releaseFromRow(row) : undefined;
  }

  async listReleases(
    filter: {
      service?: string;
      group?: StatusGroup;
      statuses?: readonly ReleaseStatus[];
      limit?: number;
    } = {},
  ): Promise<Release[]> {
    const statuses = filter.statuses ?? (filter.group ? statusesIn(filter.group) : null);
    const rows = await this.sql`
      SELECT * FROM releases
      WHERE (${filter.service ?? null}::text IS NULL OR service_name = ${filter.service ?? null})
        ${statuses ? this.sql`AND status::text IN ${this.sql(statuses as string[])}` : this.sql``}
      ORDER BY created_at DESC, id DESC
      LIMIT ${filter.limit ?? 50}`;
    return rows.map(releaseFromRow);
  }

  /** Runs `fn` in a transaction holding the release row lock. */
  async withLockedRelease<T>(
    id: number,
    fn: (tx: TransactionSql, release: Release) => Promise<T>,
  ): Promise<T> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx`SELECT * FROM releases WHERE id = ${id} FOR UPDATE`;
      if (!row) throw new UsageError("release_not_found", `release ${id}: no such release`);
      return fn(tx, releaseFromRow(row));
    }) as Promise<T>;
  }

  /** Moves a release to `to` if the transition table lets `by` make that move; audited in the same transaction. */
  async transition(
    id: number,
    to: ReleaseStatus,
    by: Mover,
    actor: Actor,
    fields: TransitionFields = {},
  ): Promise<Release> {
    if (fields.rollbackToTag) validateTag(fields.rollbackToTag, "rollback_to_tag");
    return this.withLockedRelease(id, (tx, before) =>
      this.transitionLocked(tx, before, to, by, actor, fields),
    );
  }

  async transitionLocked(
    tx: TransactionSql,
    before: Release,
    to: ReleaseStatus,
    by: Mover,
    actor: Actor,
    fields: TransitionFields = {},
  ): Promise<Release> {
    assertTransition(before.status, to, by);
    const rollbackToTag =
      fields.rollbackToTag !== undefined
        ? fields.rollbackToTag
        : (before.rollbackToTag ??
          (ROLLBACK_PROGRESS.has(to) ? await this.dispatchedRollbackTag(tx, before.id) : null));
    const [row] = await tx`
      UPDATE releases SET
        status = ${to},
        rollback_to_tag = ${rollbackToTag},
        github_run_id = ${fields.githubRunId === undefined ? before.githubRunId : fields.githubRunId},
        github_action_link = ${fields.githubActionLink === undefined ? before.githubActionLink : fields.githubActionLink},
        started_at = coalesce(started_at, now()),
        completed_at = ${isTerminal(to) ? tx`now()` : tx`NULL`},
        updated_at = now()
      WHERE id = ${before.id}
      RETURNING *`;
    const after = releaseFromRow(row!);
    await this.appendAudit(tx, actor, "release.status", before.id, snapshot(before), snapshot(after));
    if (ROLLBACK_PROGRESS.has(to)) await this.settleDispatchedRollbacks(tx, after.service, to);
    return after;
  }

  /** The version a rollback handed to a workflow restores, for a workflow that did not say it. */
  private async dispatchedRollbackTag(tx: TransactionSql, releaseId: number): Promise<string | null> {
    const [row] = await tx`SELECT to_tag FROM deploy_requests
      WHERE kind = 'rollback' AND release_id = ${releaseId} AND state = 'dispatched' LIMIT 1`;
    return (row?.to_tag as string | null | undefined) ?? null;
  }

  /**
   * A rollback handed to a workflow is open until the workflow reports its end: its statuses
   * (PATCH /release from the workflow) keep the request alive while it rolls back and close it
   * when the release reaches rollback_done or rollback_failed; audited in the same transaction.
   */
  private async settleDispatchedRollbacks(tx: TransactionSql, service: string, to: ReleaseStatus) {
    const ended = to === "rollback_done" ? "done" : to === "rollback_failed" ? "failed" : undefined;
    const rows = await tx`
      UPDATE deploy_requests SET heartbeat_at = now(),
        state = ${ended ?? tx`state`},
        finished_at = ${ended ? tx`now()` : null},
        last_error = ${ended === "failed" ? "the rollback failed" : null}
      WHERE kind = 'rollback' AND service_name = ${service} AND state = 'dispatched'
      RETURNING *`;
    if (!ended) return;
    for (const r of rows) {
      const requester: Actor = {
        user: r.requested_by as string,
        channel: "system",
        ...(r.trace_id ? { traceId: r.trace_id as string } : {}),
      };
      await this.appendAudit(tx, requester, `rollback.${ended}`, Number(r.release_id), null, {
        request_id: Number(r.id),
        kind: "rollback",
        service: r.service_name,
        environment: r.environment,
        to_tag: r.to_tag,
      });
    }
  }

  async listApprovals(releaseId: number, tx: Tx = this.sql): Promise<ApprovalRow[]> {
    const rows = await tx`SELECT * FROM approvals WHERE release_id = ${releaseId} ORDER BY id`;
    return rows.map(approvalFromRow);
  }

  /**
   * Records an approval or rejection under the policy; when it completes the policy (or rejects),
   * the release moves to manual_test_passed (or manual_test_failed) in the same transaction.
   */
  async decide(
    releaseId: number,
    input: { role: string; decision: Decision; reason?: string; userAliases?: readonly string[] },
    policy: ApprovalPolicy,
    actor: Actor,
    options: DecideOptions = {},
  ): Promise<DecideResult> {
    return this.withLockedRelease(releaseId, async (tx, release) => {
      options.beforeDecide?.(release);
      const records = await this.listApprovals(release.id, tx);
      const plan = planApproval({
        policy,
        status: release.status,
        initiatedBy: release.initiatedBy,
        records,
        user: actor.user,
        role: input.role,
        decision: input.decision,
        ...(input.reason !== undefined ? { reason: input.reason } : {}),
        ...(input.userAliases ? { userAliases: input.userAliases } : {}),
      });
      const [row] = await tx`
        INSERT INTO approvals (release_id, role, user_id, decision, reason)
        VALUES (${release.id}, ${plan.record.role}, ${plan.record.user}, ${plan.record.decision}, ${plan.record.reason ?? null})
        RETURNING *`;
      const approval = approvalFromRow(row!);
      let current = release;
      if (approval.decision === "approve") {
        const entry: ApprovedEntry = {
          role: approval.role,
          user: approval.user,
          at: approval.at.toISOString(),
        };
        const [updated] = await tx`
          UPDATE releases SET approved_list = approved_list || ${tx.json([entry] as never)}, updated_at = now()
          WHERE id = ${release.id} RETURNING *`;
        current = releaseFromRow(updated!);
      }
      await this.appendAudit(
        tx,
        actor,
        approval.decision === "approve" ? "release.approve" : "release.reject",
        release.id,
        null,
        { role: approval.role, decision: approval.decision, reason: approval.reason ?? undefined },
      );
      if (plan.nextStatus)
        current = await this.transitionLocked(tx, current, plan.nextStatus, "approval", actor);
      const result = { release: current, approval, completed: plan.nextStatus === "manual_test_passed" };
      await options.onDecided?.(tx, result);
      return result;
    });
  }

  async listAudit(filter: { releaseId?: number; limit?: number } = {}): Promise<AuditEvent[]> {
    const rows = await this.sql`
      SELECT * FROM audit_events
      WHERE (${filter.releaseId ?? null}::bigint IS NULL OR release_id = ${filter.releaseId ?? null})
      ORDER BY id DESC LIMIT ${filter.limit ?? 200}`;
    return rows.map(auditFromRow).reverse();
  }

  /** The most recent release of a service that reached `deployed` (or was rolled back to). */
  async latestDeployed(service: string): Promise<Release | undefined> {
    const [row] = await this.sql`
      SELECT * FROM releases WHERE service_name = ${service} AND status = 'deployed'
      ORDER BY completed_at DESC NULLS LAST, id DESC LIMIT 1`;
    return row ? releaseFromRow(row) : undefined;
  }
}

export function ensureState(release: Release, allowed: readonly ReleaseStatus[], action: string): void {
  if (!allowed.includes(release.status)) {
    throw new StateError(
      "wrong_status",
      `cannot ${action} release ${release.id}: it is ${release.status} (needs ${allowed.join(" or ")})`,
    );
  }
}
