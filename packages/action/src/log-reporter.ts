import {
  formatDuration,
  type RunEvent,
  type RunOutcome,
  type RunReportPart,
  type RunReportStep,
} from "@relctl/core";
import type { ActionIo } from "./runner-io.js";

/**
 * Turns a runbook's events into the job log (one `::group::` per step, with its duration and,
 * when it failed, its last lines) and keeps what the summary shows.
 */
export class LogReporter {
  readonly parts: RunReportPart[] = [];
  private current: { title: string; steps: RunReportStep[]; notes: string[] } | undefined;
  private open = false;
  /** The last lines of the last step that failed. */
  failureOutput: string | undefined;

  constructor(private readonly io: ActionIo) {}

  /** Starts a part of the summary: "Deploy to stage", "Rollback rehearsal on stage", … */
  begin(title: string): void {
    this.current = { title, steps: [], notes: [] };
    this.io.info(`relctl: ${title}`);
  }

  /** Ends the current part with the runbook's outcome. */
  end(outcome: Pick<RunOutcome, "status" | "message">): void {
    if (!this.current) return;
    this.closeGroup();
    this.parts.push({ ...this.current, status: outcome.status, message: outcome.message });
    this.current = undefined;
    this.io.info(`relctl: ${outcome.message}`);
  }

  /** Ends the current part when the runbook threw. */
  abort(message: string): void {
    this.end({ status: "failed", message });
  }

  readonly report = (event: RunEvent): void => {
    // Asked for only by a reporter with `output: true`; the step's tail is shown when it ends.
    if (event.type === "step-output") return;
    if (event.type === "note") {
      this.current?.notes.push(event.message);
      this.io.info(`  · ${event.message}`);
      return;
    }
    if (event.type === "step-start") {
      this.closeGroup();
      this.io.startGroup(`${event.host}: ${event.step.title}`);
      this.open = true;
      return;
    }
    const r = event.result;
    // A rollout's measurement shows its value, passed or not (the reason of an abort).
    const detail =
      event.step.id === "analysis" && r.tail.trim()
        ? r.tail.trim().slice(0, 300)
        : event.ok
          ? undefined
          : r.timedOut
            ? "timed out"
            : r.connectionLost
              ? "connection lost"
              : `exit ${r.exitCode}`;
    this.current?.steps.push({
      host: event.host,
      title: event.step.title,
      durationMs: r.durationMs,
      ok: event.ok,
      ...(detail ? { detail } : {}),
    });
    this.io.info(
      `${event.ok ? "✓" : "✗"} ${event.step.title} (${formatDuration(r.durationMs)})${detail ? `: ${detail}` : ""}`,
    );
    if (r.tail.trim()) this.io.untrusted(r.tail);
    if (!event.ok && r.tail.trim()) this.failureOutput = r.tail;
    this.closeGroup();
  };

  private closeGroup(): void {
    if (this.open) this.io.endGroup();
    this.open = false;
  }
}
