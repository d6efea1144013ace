import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Sql } from "postgres";
import {
  type DeployHold,
  type DeployLock,
  type Deployment,
  describeLock,
  lockAlive,
  type Run,
  type RunKind,
  type RunStatus,
  type StepRecord,
} from "../../domain/run.js";
import { StateError } from "../../errors.js";
import type {
  AcquireLockInput,
  CreateRunInput,
  LockAttempt,
  PlaceHoldInput,
  RecordDeploymentInput,
} from "../../ports/stores.js";

export type { DeployLock, Deployment, Run, RunKind, RunStatus, StepRecord };
export { describeLock };

type Row = Record<string, unknown>;

const runFrom = (r: Row): Run => ({
  id: Number(r.id),
  kind: r.kind as RunKind,
  service: r.service_name as string,
  environment: r.environment as string,
  releaseId: r.release_id == null ? null : Number(r.release_id),
  tag: r.tag as string,
  fromTag: (r.from_tag as string | null) ?? null,
  status: r.status as RunStatus,
  actor: r.actor as string,
  traceId: (r.trace_id as string | null) ?? null,
  error: (r.error as string | null) ?? null,
  startedAt: r.started_at as Date,
  finishedAt: (r.finished_at as Date | null) ?? null,
});

const deploymentFrom = (r: Row): Deployment => ({
  id: Number(r.id),
  service: r.service_name as string,
  environment: r.environment as string,
  releaseId: r.release_id == null ? null : Number(r.release_id),
  tag: r.tag as string,
  schemaVersion: (r.schema_version as string | null) ?? null,
  state: r.state as Deployment["state"],
  deployedAt: r.deployed_at as Date,
});

const lockFrom = (r: Row): DeployLock => ({
  service: r.service_name as string,
  environment: r.environment as string,
  owner: r.owner as string,
  reason: r.reason as string,
  token: r.token as string,
  pid: (r.pid as number | null) ?? null,
  hostname: (r.hostname as string | null) ?? null,
  acquiredAt: r.acquired_at as Date,
  expiresAt: (r.expires_at as Date | null) ?? null,
  heartbeatAt: r.heartbeat_at as Date,
  runId: r.run_id == null ? null : Number(r.run_id),
});

/** Runs, their steps, what is deployed where, and deploy locks. */
export class RunStore {
  constructor(readonly sql: Sql) {}

  async createRun(input: CreateRunInput): Promise<Run> {
    const [row] = await this.sql`
      INSERT INTO runs (kind, service_name, environment, release_id, tag, from_tag, actor, trace_id, gated)
      VALUES (${input.kind}, ${input.service}, ${input.environment}, ${input.releaseId}, ${input.tag}, ${input.fromTag},
              ${input.actor.user}, ${input.actor.traceId ?? null}, ${input.gated ?? false})
      RETURNING *`;
    return runFrom(row!);
  }

  async setRunRelease(id: number, releaseId: number): Promise<void> {
    await this.sql`UPDATE runs SET release_id = ${releaseId} WHERE id = ${id}`;
  }

  async setRunFromTag(id: number, fromTag: string): Promise<void> {
    await this.sql`UPDATE runs SET from_tag = ${fromTag} WHERE id = ${id}`;
  }

  async finishRun(id: number, status: RunStatus, error?: string): Promise<void> {
    await this
      .sql`UPDATE runs SET status = ${status}, error = ${error ?? null}, finished_at = now() WHERE id = ${id}`;
  }

  async getRun(id: number): Promise<Run | undefined> {
    const [row] = await this.sql`SELECT * FROM runs WHERE id = ${id}`;
    return row ? runFrom(row) : undefined;
  }

  async listRuns(filter: { service?: string; environment?: string; limit?: number } = {}): Promise<Run[]> {
    const rows = await this.sql`
      SELECT * FROM runs
      WHERE (${filter.service ?? null}::text IS NULL OR service_name = ${filter.service ?? null})
        AND (${filter.environment ?? null}::text IS NULL OR environment = ${filter.environment ?? null})
      ORDER BY id DESC LIMIT ${filter.limit ?? 50}`;
    return rows.map(runFrom);
  }

  /** The newest run that moved (or was about) a release. */
  async latestRunOf(releaseId: number): Promise<Run | undefined> {
    const [row] = await this.sql`SELECT * FROM runs WHERE release_id = ${releaseId} ORDER BY id DESC LIMIT 1`;
    return row ? runFrom(row) : undefined;
  }

  /**
   * Runs of a release still `running` whose holder is gone: no lock names them, or the lock's
   * heartbeat ran out. A run younger than `graceMs` is skipped (its lock is named just after it
   * is opened).
   */
  async interruptedRuns(graceMs = 5_000, limit = 50): Promise<Run[]> {
    const rows = await this.sql`
      SELECT r.* FROM runs r
      LEFT JOIN deploy_locks l
        ON l.service_name = r.service_name AND l.environment = r.environment AND l.run_id = r.id
      WHERE r.status = 'running' AND r.release_id IS NOT NULL
        AND r.started_at < now() - ${graceMs} * interval '1 millisecond'
        AND (l.run_id IS NULL OR (l.expires_at IS NOT NULL AND l.expires_at <= now()))
      ORDER BY r.id LIMIT ${limit}`;
    return rows.map(runFrom);
  }

  async recordStep(s: StepRecord): Promise<void> {
    await this.sql`
      INSERT INTO step_runs (run_id, host, step, title, argv, exit_code, timed_out, connection_lost, duration_ms, output_tail, ok, started_at)
      VALUES (${s.runId}, ${s.host}, ${s.step}, ${s.title}, ${this.sql.json(s.argv as never)}, ${s.exitCode}, ${s.timedOut},
              ${s.connectionLost}, ${Math.round(s.durationMs)}, ${s.outputTail}, ${s.ok}, ${s.startedAt})`;
  }

  async listSteps(runId: number): Promise<StepRecord[]> {
    const rows = await this.sql`SELECT * FROM step_runs WHERE run_id = ${runId} ORDER BY id`;
    return rows.map((r) => ({
      runId: Number(r.run_id),
      host: r.host,
      step: r.step,
      title: r.title,
      argv: r.argv,
      exitCode: r.exit_code,
      timedOut: r.timed_out,
      connectionLost: r.connection_lost,
      durationMs: r.duration_ms,
      outputTail: r.output_tail,
      ok: r.ok,
      startedAt: r.started_at,
    }));
  }

  async activeDeployment(service: string, environment: string): Promise<Deployment | undefined> {
    const [row] = await this.sql`
      SELECT * FROM deployments WHERE service_name = ${service} AND environment = ${environment} AND state = 'active'`;
    return row ? deploymentFrom(row) : undefined;
  }

  /** Newest first. */
  async deploymentHistory(service: string, environment: string, limit = 100): Promise<Deployment[]> {
    const rows = await this.sql`
      SELECT * FROM deployments WHERE service_name = ${service} AND environment = ${environment}
      ORDER BY id DESC LIMIT ${limit}`;
    return rows.map(deploymentFrom);
  }

  /** Makes `tag` the active deployment; the previous active one becomes `previousState`. */
  async recordDeployment(input: RecordDeploymentInput): Promise<Deployment> {
    return this.sql.begin(async (tx) => {
      await tx`UPDATE deployments SET state = ${input.previousState}
        WHERE service_name = ${input.service} AND environment = ${input.environment} AND state = 'active'`;
      const [row] = await tx`
        INSERT INTO deployments (service_name, environment, release_id, tag, schema_version, state, run_id)
        VALUES (${input.service}, ${input.environment}, ${input.releaseId}, ${input.tag}, ${input.schemaVersion}, 'active', ${input.runId})
        RETURNING *`;
      return deploymentFrom(row!);
    }) as Promise<Deployment>;
  }

  /** Tags of deploy runs in an environment, newest first (what may still sit on the hosts). */
  async deployedRunTags(service: string, environment: string, limit = 50): Promise<string[]> {
    const rows = await this.sql`
      SELECT tag, max(id) AS last FROM runs WHERE service_name = ${service} AND environment = ${environment} AND kind = 'deploy'
      GROUP BY tag ORDER BY last DESC LIMIT ${limit}`;
    return rows.map((r) => r.tag as string);
  }

  // Deploy locks -------------------------------------------------------------------------------

  /**
   * Takes the lock, or returns its live holder. A holder whose heartbeat stopped (its lease passed)
   * is dead: its lock is taken over and returned as `tookOver`. A lock held by hand (no lease) is
   * never taken over. `leaseMs` null takes the lock by hand.
   */
  async tryAcquireLock(input: AcquireLockInput): Promise<LockAttempt> {
    const token = randomBytes(12).toString("hex");
    return this.sql.begin(async (tx) => {
      const [held] = await tx`
        SELECT *, now() AS now_ FROM deploy_locks
        WHERE service_name = ${input.service} AND environment = ${input.environment} FOR UPDATE`;
      const before = held ? lockFrom(held) : undefined;
      if (before && lockAlive(before, held!.now_ as Date)) return { acquired: false, holder: before };
      const expires =
        input.leaseMs === null ? tx`NULL` : tx`now() + ${input.leaseMs} * interval '1 millisecond'`;
      const [row] = await tx`
        INSERT INTO deploy_locks (service_name, environment, owner, reason, token, pid, hostname, expires_at, heartbeat_at, run_id)
        VALUES (${input.service}, ${input.environment}, ${input.owner}, ${input.reason}, ${token}, ${process.pid}, ${hostname()},
                ${expires}, now(), NULL)
        ON CONFLICT (service_name, environment) DO UPDATE SET
          owner = excluded.owner, reason = excluded.reason, token = excluded.token, pid = excluded.pid,
          hostname = excluded.hostname, acquired_at = now(), expires_at = excluded.expires_at,
          heartbeat_at = now(), run_id = NULL
        RETURNING *`;
      return { acquired: true, lock: lockFrom(row!), ...(before ? { tookOver: before } : {}) };
    }) as Promise<LockAttempt>;
  }

  async setLockRun(lock: DeployLock, runId: number): Promise<void> {
    await this.sql`UPDATE deploy_locks SET run_id = ${runId}
      WHERE service_name = ${lock.service} AND environment = ${lock.environment} AND token = ${lock.token}`;
  }

  async renewLock(lock: DeployLock, leaseMs: number): Promise<boolean> {
    const rows = await this.sql`
      UPDATE deploy_locks SET expires_at = now() + ${leaseMs} * interval '1 millisecond', heartbeat_at = now()
      WHERE service_name = ${lock.service} AND environment = ${lock.environment} AND token = ${lock.token}
      RETURNING 1`;
    return rows.length === 1;
  }

  async setHostLockToken(runId: number, token: string): Promise<void> {
    await this.sql`UPDATE runs SET host_lock_token = ${token} WHERE id = ${runId}`;
  }

  async hostLockTokenEnded(token: string): Promise<boolean> {
    const [row] = await this
      .sql`SELECT status FROM runs WHERE host_lock_token = ${token} ORDER BY id DESC LIMIT 1`;
    return row !== undefined && row.status !== "running";
  }

  async abortRequestedBy(runId: number): Promise<string | null> {
    const [row] = await this.sql`SELECT abort_requested_by FROM runs WHERE id = ${runId}`;
    return (row?.abort_requested_by as string | null | undefined) ?? null;
  }

  async openHold(service: string, environment: string): Promise<DeployHold | undefined> {
    const [r] = await this.sql`SELECT * FROM deploy_holds
      WHERE service_name = ${service} AND environment = ${environment} AND acknowledged_at IS NULL`;
    return r
      ? {
          id: Number(r.id),
          service: r.service_name as string,
          environment: r.environment as string,
          reason: r.reason as string,
          releaseId: r.release_id == null ? null : Number(r.release_id),
          createdBy: r.created_by as string,
          createdAt: r.created_at as Date,
        }
      : undefined;
  }

  async placeHold(input: PlaceHoldInput): Promise<void> {
    await this.sql`INSERT INTO deploy_holds (service_name, environment, reason, release_id, created_by)
      VALUES (${input.service}, ${input.environment}, ${input.reason}, ${input.releaseId}, ${input.by})
      ON CONFLICT DO NOTHING`;
  }

  /** Acknowledges the open hold; returns it, or undefined when none was open. */
  async acknowledgeHold(service: string, environment: string, by: string): Promise<DeployHold | undefined> {
    const hold = await this.openHold(service, environment);
    if (!hold) return undefined;
    await this.sql`UPDATE deploy_holds SET acknowledged_by = ${by}, acknowledged_at = now()
      WHERE id = ${hold.id} AND acknowledged_at IS NULL`;
    return hold;
  }

  /** Asks a run in progress to stop (its holder sees it at its next heartbeat). */
  async requestAbort(runId: number, by: string): Promise<void> {
    await this.sql`UPDATE runs SET abort_requested_by = ${by} WHERE id = ${runId} AND status = 'running'`;
  }

  async releaseLock(lock: DeployLock): Promise<void> {
    await this.sql`DELETE FROM deploy_locks
      WHERE service_name = ${lock.service} AND environment = ${lock.environment} AND token = ${lock.token}`;
  }

  async getLock(service: string, environment: string): Promise<DeployLock | undefined> {
    const [row] = await this
      .sql`SELECT * FROM deploy_locks WHERE service_name = ${service} AND environment = ${environment}`;
    return row ? lockFrom(row) : undefined;
  }

  async listLocks(service?: string): Promise<DeployLock[]> {
    const rows = await this.sql`SELECT * FROM deploy_locks
      WHERE (${service ?? null}::text IS NULL OR service_name = ${service ?? null}) ORDER BY service_name, environment`;
    return rows.map(lockFrom);
  }

  /** Frees a lock whoever holds it (`relctl lock release`). Returns the lock that was freed. */
  async forceReleaseLock(service: string, environment: string): Promise<DeployLock> {
    const [row] = await this
      .sql`DELETE FROM deploy_locks WHERE service_name = ${service} AND environment = ${environment} RETURNING *`;
    if (!row) throw new StateError("lock_not_held", `no deploy lock is held for ${service}/${environment}`);
    return lockFrom(row);
  }
}
