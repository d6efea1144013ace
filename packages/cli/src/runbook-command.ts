import type { Command } from "@oclif/core/command";
import * as Flags from "@oclif/core/flags";
import {
  createExecutor,
  DEFAULT_LOCK_DEAD_AFTER_MS,
  DeployRequestStore,
  ExternalError,
  Interruption,
  parseDuration,
  type RunbookDeps,
  type RunOutcome,
  RunStore,
  resolveConfigFile,
  type ServiceConfig,
  UsageError,
  validateService,
} from "@relctl/core";
import { BaseCommand, InterruptedError } from "./base-command.js";
import { createProgress, progressMode } from "./progress.js";
import { releaseJson } from "./render.js";

/** --verbose of the commands that run runbooks (deploy, rehearse, rollback, release, abort). */
export const verboseFlag = Flags.boolean({
  description:
    "Show each line the steps print on the hosts (stdout and stderr) as it comes, prefixed with the host; secrets redacted.",
});

/** Shared by the commands that run runbooks: config, deps with live progress, outcome → exit code. */
export abstract class RunbookCommand<T extends typeof Command> extends BaseCommand<T> {
  static override baseFlags = {
    ...BaseCommand.baseFlags,
    wait: Flags.boolean({
      description: "Wait for the deploy lock instead of failing when it is held.",
      helpGroup: "GLOBAL",
    }),
  };

  private progress: ReturnType<typeof createProgress> | undefined;
  /** SIGINT/SIGTERM during a run: the running step is ended on the host, the run compensates as planned. */
  private readonly interruption = new Interruption();
  private signalsInstalled = false;

  /** The service's relctl.yml; a runbook needs one. */
  protected async serviceConfig(service: string): Promise<ServiceConfig> {
    validateService(service);
    // A missing file is refused before the database is opened (or the embedded one created).
    const file = resolveConfigFile({
      env: process.env,
      cwd: process.cwd(),
      ...(this.flags?.config ? { configPath: this.flags.config } : {}),
    });
    if (!file) {
      throw new UsageError("config_missing", "config: no relctl.yml here", {
        hint: "pass --config <path> or run relctl in the folder that holds relctl.yml",
      });
    }
    return (await this.ctx()).config(service);
  }

  protected async deps(): Promise<RunbookDeps> {
    const ctx = await this.ctx();
    this.progress = createProgress(progressMode(this.jsonEnabled()), process.stderr, {
      verbose: Boolean((this.flags as { verbose?: boolean }).verbose),
    });
    this.installSignals();
    const deadAfter = process.env.RELCTL_LOCK_DEAD_AFTER
      ? parseDuration(process.env.RELCTL_LOCK_DEAD_AFTER)
      : DEFAULT_LOCK_DEAD_AFTER_MS;
    if (deadAfter === undefined || deadAfter < 1000) {
      throw new UsageError(
        "invalid_env",
        `RELCTL_LOCK_DEAD_AFTER: "${process.env.RELCTL_LOCK_DEAD_AFTER}" is not a duration of 1s or more (e.g. 30s)`,
      );
    }
    return {
      releases: ctx.store,
      runs: new RunStore(ctx.db.sql),
      deployRequests: new DeployRequestStore(ctx.db.sql),
      executor: createExecutor(),
      reporter: this.progress,
      interruption: this.interruption,
      audit: (actor, action, releaseId, after) =>
        ctx.store.appendAudit(ctx.db.sql, actor, action, releaseId, null, after),
      lock: { wait: Boolean((this.flags as { wait?: boolean }).wait), leaseMs: deadAfter },
    };
  }

  /**
   * A cancelled CI job or Ctrl-C: the first signal ends the running step on its host and lets the
   * run compensate as its plan says (then the lock is released and the run closed); a second one
   * stops at once, starting nothing more. The command exits 130 (SIGINT) or 143 (SIGTERM).
   */
  private installSignals(): void {
    if (this.signalsInstalled) return;
    this.signalsInstalled = true;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.on(signal, () => {
        this.interruption.interrupt(signal);
        this.note(
          this.interruption.stopped
            ? `relctl: ${signal} again: stopping now, starting nothing more`
            : `relctl: ${signal}: ending the running step, then finishing as the plan says (${signal} again stops at once)`,
        );
      });
    }
  }

  /** Success prints the outcome; anything else is an error with the outcome in its details. */
  protected finishOutcome(outcome: RunOutcome): Record<string, unknown> {
    this.progress?.stop();
    const signal = this.interruption.signals[0];
    if (signal) {
      throw new InterruptedError(signal, `interrupted by ${signal}: ${outcome.message}`, {
        ...(outcome.hint ? { hint: outcome.hint } : {}),
      });
    }
    const json = {
      run_id: outcome.run.id,
      status: outcome.status,
      message: outcome.message,
      previous_tag: outcome.previousTag,
      release: outcome.release ? releaseJson(outcome.release) : null,
      trace_id: outcome.run.traceId,
    };
    if (outcome.status !== "succeeded") {
      throw new ExternalError(`run_${outcome.status}`, outcome.message, {
        ...(outcome.hint ? { hint: outcome.hint } : {}),
        details: json,
      });
    }
    this.log(outcome.message);
    return json;
  }
}
