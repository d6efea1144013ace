import { createLineSplitter, redact } from "../adapters/exec/quote.js";
import type { RunStore } from "../adapters/postgres/run-store.js";
import type { EnvironmentHost } from "../config/load.js";
import { ExternalError, isRelctlError, StateError } from "../errors.js";
import type { Executor, HostSession, RunOptions, Step, StepResult } from "../ports/executor.js";
import { endSpan, refOf, startChildSpan, type TraceRef, traceparentOf } from "../telemetry.js";
import { forEachAtOnce } from "./at-once.js";
import type { Interruption } from "./interruption.js";
import { layoutOf } from "./layout.js";
import { planEndGroupStep, planHostLock, planHostLockBeat, planHostUnlock } from "./steps.js";

/** What a runbook reports while it runs (the CLI renders it; tests collect it). */
export type RunEvent =
  | { readonly type: "step-start"; readonly host: string; readonly step: Step }
  | {
      readonly type: "step-end";
      readonly host: string;
      readonly step: Step;
      readonly result: StepResult;
      readonly ok: boolean;
    }
  | {
      /** A line the step printed on the host, redacted as its stored output is (see RunReporter.output). */
      readonly type: "step-output";
      readonly host: string;
      readonly step: Step;
      readonly stream: "stdout" | "stderr";
      readonly line: string;
    }
  | { readonly type: "note"; readonly message: string };

/**
 * Called for every event; a returned promise is awaited before the run goes on (but for
 * `step-output`, which comes while the step runs: the step does not wait for it). `output: true`
 * asks for the `step-output` events; without it the runner does not split the output into lines.
 */
export type RunReporter = ((event: RunEvent) => void | Promise<void>) & { readonly output?: boolean };

/** Reconnecting after a lost connection: tries, and the pause before each (growing). */
const RECONNECT_ATTEMPTS = 4;
const RECONNECT_DELAY_MS = 500;

/** A step that did not succeed. The runbook decides whether it is fatal. */
export class StepFailedError extends ExternalError {}

export interface RunnerOptions {
  readonly executor: Executor;
  /** SIGINT/SIGTERM: ends the running step; after a second one no step starts. */
  readonly interruption?: Interruption;
  readonly runs: Pick<RunStore, "recordStep">;
  readonly runId: number;
  readonly reporter?: RunReporter;
  readonly trace?: TraceRef;
  /** How many hosts work at once (the environment's `parallel`; default 1: one after another). */
  readonly parallel?: number;
}

/**
 * Runs steps on hosts for one run: one session per host for the whole run, every step recorded
 * (argv redacted, exit code, duration, last lines of output) and reported.
 */
export class Runner {
  private readonly sessions = new Map<string, HostSession>();

  constructor(private readonly options: RunnerOptions) {}

  /** How many hosts work at once: connecting, locking, and the plan items marked `together`. */
  get parallel(): number {
    return Math.max(1, this.options.parallel ?? 1);
  }

  /** How many interruptions came so far (a health check stops waiting when one comes). */
  get interruptions(): number {
    return this.options.interruption?.count ?? 0;
  }

  async note(message: string): Promise<void> {
    await this.options.reporter?.({ type: "note", message });
  }

  private async session(host: EnvironmentHost, reopen = false): Promise<HostSession> {
    const open = this.sessions.get(host.name);
    if (open && !reopen) return open;
    if (open) await open.close().catch(() => {});
    const session = await this.options.executor.open(host);
    this.sessions.set(host.name, session);
    return session;
  }

  /** Opens every host's session up front: a bad host key or login fails before anything changes. */
  async connect(hosts: readonly EnvironmentHost[]): Promise<void> {
    await forEachAtOnce(hosts, this.parallel, async (host) => {
      await this.session(host);
    });
  }

  /**
   * Runs one step and records it; never throws for a failed command (see `must`). `signal` ends
   * the step on the host (as an interruption does) when the run no longer wants it.
   */
  async step(
    host: EnvironmentHost,
    step: Step,
    run: { readonly signal?: AbortSignal } = {},
  ): Promise<StepResult> {
    const interruption = this.options.interruption;
    if (interruption?.stopped) {
      throw new ExternalError(
        "interrupted",
        `relctl was interrupted (${interruption.signals.join(", ")}): ${host.name}: ${step.id} was not started`,
      );
    }
    const abort = interruption?.forStep();
    const signals = [abort?.signal, run.signal].filter((s): s is AbortSignal => s !== undefined);
    const reporter = this.options.reporter;
    const lines = reporter?.output
      ? createLineSplitter((line, stream) => {
          void Promise.resolve(reporter({ type: "step-output", host: host.name, step, stream, line })).catch(
            () => {},
          );
        })
      : undefined;
    const options: RunOptions = {
      ...(signals.length ? { signal: signals.length === 1 ? signals[0]! : AbortSignal.any(signals) } : {}),
      ...(lines
        ? { onOutput: (chunk: string, stream: "stdout" | "stderr") => lines.push(chunk, stream) }
        : {}),
    };
    const result = await this.record(host.name, step, async (trace) => {
      // The host gets the step's own span as its parent: a process there that continues the
      // trace is a child of this step.
      const withTrace: Step = trace
        ? { ...step, env: { ...step.env, RELCTL_TRACE_ID: trace.traceId, TRACEPARENT: traceparentOf(trace) } }
        : step;
      try {
        return await (await this.session(host)).run(withTrace, options);
      } catch (err) {
        // A session lost earlier in the run: reconnect once (a rollback must still be able to run).
        if (isRelctlError(err) && err.code === "ssh_connection_lost") {
          return (await this.session(host, true)).run(withTrace, options);
        }
        throw err;
      } finally {
        abort?.done();
        // A last line without a newline still comes before the step's end.
        lines?.flush();
      }
    });
    if (result.connectionLost && step.pidFile) {
      const unconfirmed = await this.endOrphan(host, step.pidFile);
      if (unconfirmed) {
        const failure = stepFailure(host.name, step, result);
        throw new StepFailedError(
          "orphan_unconfirmed",
          `${failure.message}, and relctl could not confirm that the step stopped on the host (${unconfirmed})`,
          { details: { host: host.name, step: step.id } },
        );
      }
    }
    return result;
  }

  /**
   * After a lost connection the step may still run on the host (nothing there ends it). Reconnect
   * and end its process group, and confirm it is gone, before anything else runs there: a
   * compensation must never race the step it undoes. Returns why it could not confirm that (the
   * host cannot be reached, or the group will not end), or undefined when the step is gone.
   */
  private async endOrphan(host: EnvironmentHost, pidFile: string): Promise<string | undefined> {
    const step = planEndGroupStep(pidFile);
    let lastError: unknown;
    for (let attempt = 0; attempt < RECONNECT_ATTEMPTS; attempt++) {
      try {
        const session = await this.session(host, true);
        const result = await this.record(host.name, step, () => session.run(step));
        if (result.exitCode === 0) {
          await this.note(`${host.name}: the interrupted step's processes are gone`);
          return undefined;
        }
        lastError = stepFailure(host.name, step, result);
        if (!result.connectionLost) break;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, RECONNECT_DELAY_MS * (attempt + 1)));
    }
    return lastError instanceof Error ? lastError.message : String(lastError);
  }

  /**
   * Records and reports something relctl does itself (e.g. a health probe from this machine) as a
   * step. `execute` gets the step span's trace ref (the operation's when no SDK records spans).
   */
  async record(
    hostName: string,
    step: Step,
    execute: (trace: TraceRef | undefined) => Promise<StepResult>,
  ): Promise<StepResult> {
    await this.options.reporter?.({ type: "step-start", host: hostName, step });
    const span = startChildSpan(`runbook ${step.id}`, this.options.trace, {
      "relctl.host": hostName,
      "relctl.step": step.id,
    });
    const startedAt = new Date();
    let result: StepResult;
    try {
      result = await execute(refOf(span) ?? this.options.trace);
    } catch (err) {
      endSpan(span, false, (err as Error).message);
      throw err;
    }
    const ok = result.exitCode === 0 && !result.timedOut && !result.connectionLost && !result.interrupted;
    span.setAttribute("relctl.exit_code", result.exitCode ?? -1);
    endSpan(span, ok);
    await this.options.runs.recordStep({
      runId: this.options.runId,
      host: hostName,
      step: step.id,
      title: step.title,
      argv: step.argv.map((a) => redact(a, step.sensitive)),
      exitCode: result.exitCode,
      timedOut: result.timedOut,
      connectionLost: result.connectionLost,
      durationMs: result.durationMs,
      outputTail: result.tail,
      ok,
      startedAt,
    });
    await this.options.reporter?.({ type: "step-end", host: hostName, step, result, ok });
    return result;
  }

  /** Runs a step and throws StepFailedError naming the host and step when it did not succeed. */
  async must(host: EnvironmentHost, step: Step): Promise<StepResult> {
    const result = await this.step(host, step);
    if (result.exitCode === 0 && !result.timedOut && !result.connectionLost && !result.interrupted)
      return result;
    throw stepFailure(host.name, step, result);
  }

  private hostLocks: { hosts: EnvironmentHost[]; token: string; timer: NodeJS.Timeout } | undefined;

  /**
   * Takes the lock on every host (see planHostLock) for this run, and beats it while the run lives:
   * another relctl installation, with a database of its own, cannot change these hosts meanwhile.
   * Returns the hosts whose lock was taken over from a holder that stopped beating (its steps must
   * be ended there first). Refuses, freeing what it took, when a live holder has a host.
   */
  async lockHosts(
    hosts: readonly EnvironmentHost[],
    lock: {
      token: string;
      holder: string;
      deadAfterMs: number;
      /** Whether a holder's token is this installation's, from a run that has ended. */
      ended(token: string): Promise<boolean>;
    },
  ): Promise<EnvironmentHost[]> {
    // Every host at once; the answers are then read in the hosts' order.
    const answers = new Map<EnvironmentHost, { step: Step; result: StepResult; tookOver: boolean }>();
    await forEachAtOnce(hosts, this.parallel, async (host) => {
      const dir = layoutOf(host.path).state;
      const seconds = Math.ceil(lock.deadAfterMs / 1000);
      let step = planHostLock(dir, lock.token, lock.holder, seconds);
      let result = await (await this.session(host)).run(step);
      let endedRun = false;
      const [heldBy = "", ...who] = result.stdout.trim().split("\n");
      if (result.exitCode === 2 && heldBy && (await lock.ended(heldBy))) {
        // A lock one of this installation's ended runs could not free (its host was unreachable).
        step = planHostLock(dir, lock.token, lock.holder, seconds, heldBy);
        result = await (await this.session(host)).run(step);
        if (result.exitCode === 0) {
          await this.note(`${host.name}: took over the host lock an ended run left: ${who.join(" ")}`);
          endedRun = true;
        }
      }
      if (result.exitCode === 3)
        await this.note(
          `${host.name}: took over the host lock of a holder that stopped: ${result.stdout.trim()}`,
        );
      answers.set(host, { step, result, tookOver: endedRun || result.exitCode === 3 });
    }).catch(async (err) => {
      await this.freeHostLocks(
        hosts.filter((h) => [0, 3].includes(answers.get(h)?.result.exitCode ?? -1)),
        lock.token,
      );
      throw err;
    });
    const taken = hosts.filter((h) => [0, 3].includes(answers.get(h)!.result.exitCode ?? -1));
    const tookOver = hosts.filter((h) => answers.get(h)!.tookOver);
    const refused = hosts.find((h) => !taken.includes(h));
    if (refused) {
      await this.freeHostLocks(taken, lock.token);
      const { step, result } = answers.get(refused)!;
      if (result.exitCode === 2) {
        throw new StateError(
          "host_locked",
          `${refused.name}: locked by another relctl: ${result.stdout.trim().split("\n").slice(1).join(" ") || "(holder unknown)"}`,
          { hint: "wait for it to finish; its lock frees itself when its heartbeat stops" },
        );
      }
      throw stepFailure(refused.name, step, result);
    }
    const timer = setInterval(
      () => {
        for (const host of taken) {
          const beat = planHostLockBeat(layoutOf(host.path).state, lock.token);
          void this.session(host)
            .then((s) => s.run(beat))
            .catch(() => {});
        }
      },
      Math.min(5000, Math.max(500, lock.deadAfterMs / 3)),
    );
    timer.unref();
    this.hostLocks = { hosts: taken, token: lock.token, timer };
    return tookOver;
  }

  private async unlockHosts(): Promise<void> {
    const held = this.hostLocks;
    if (!held) return;
    this.hostLocks = undefined;
    clearInterval(held.timer);
    await this.freeHostLocks(held.hosts, held.token);
  }

  private async freeHostLocks(hosts: readonly EnvironmentHost[], token: string): Promise<void> {
    await Promise.all(
      hosts.map(async (host) => {
        try {
          await (await this.session(host)).run(planHostUnlock(layoutOf(host.path).state, token));
        } catch {
          // An unreachable host keeps the lock until its heartbeat is old enough to take over.
        }
      }),
    );
  }

  async close(): Promise<void> {
    await this.unlockHosts();
    await Promise.all([...this.sessions.values()].map((s) => s.close().catch(() => {})));
    this.sessions.clear();
  }
}

export function stepFailure(host: string, step: Step, result: StepResult): StepFailedError {
  const why = result.interrupted
    ? "relctl was interrupted and ended it on the host"
    : result.connectionLost
      ? "the SSH connection was lost"
      : result.timedOut
        ? `it timed out after ${Math.round(step.timeoutMs / 1000)}s`
        : `it exited with ${result.exitCode}`;
  const last = result.tail.trim().split("\n").filter(Boolean).at(-1);
  return new StepFailedError(
    result.interrupted
      ? "interrupted"
      : result.connectionLost
        ? "ssh_connection_lost"
        : result.timedOut
          ? "step_timeout"
          : "step_failed",
    `${host}: ${step.id} (${step.title}) failed: ${why}${last ? ` — ${last.slice(0, 200)}` : ""}`,
    { details: { host, step: step.id, exitCode: result.exitCode } },
  );
}
