import { formatDuration, printable, type RunEvent, type RunReporter } from "@relctl/core";
import yoctoSpinner from "yocto-spinner";

export type ProgressMode = "tty" | "plain" | "json";

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return "json";
  return stream.isTTY && !process.env.CI ? "tty" : "plain";
}

/**
 * Live progress of a runbook on stderr (stdout carries only the result): a spinner with each
 * step's duration on a terminal; in CI a line when each step starts (→) and when it ends (✓/✗);
 * JSON lines with --json. `verbose`: each line a step prints on its host too, as it comes
 * (`    │ <host> <line>`, redacted, control characters escaped).
 */
export function createProgress(
  mode: ProgressMode,
  stream: NodeJS.WriteStream = process.stderr,
  options: { readonly verbose?: boolean } = {},
): RunReporter & { stop(): void } {
  const verbose = options.verbose === true;
  // Steps whose output was shown line by line: their tail is not shown again when they fail.
  const streamed = new Set<string>();
  const spinner = mode === "tty" ? yoctoSpinner({ stream }) : undefined;
  // Hosts work at once: the spinner names every step running now, each line names its host.
  const running = new Map<string, string>();
  const spin = () => {
    if (!spinner) return;
    const labels = [...running.values()];
    if (labels.length === 0) return;
    const text = labels.length === 1 ? labels[0]! : `${labels.length} at once: ${labels.join(" · ")}`;
    if (spinner.isSpinning) spinner.text = text;
    else spinner.start(text);
  };
  const reporter = (event: RunEvent) => {
    if (mode === "json") {
      const base = { at: new Date().toISOString(), event: event.type };
      if (event.type === "note") stream.write(`${JSON.stringify({ ...base, message: event.message })}\n`);
      else if (event.type === "step-output")
        stream.write(
          `${JSON.stringify({
            ...base,
            host: event.host,
            step: event.step.id,
            stream: event.stream,
            line: printable(event.line),
          })}\n`,
        );
      else if (event.type === "step-start")
        stream.write(
          `${JSON.stringify({ ...base, host: event.host, step: event.step.id, title: event.step.title })}\n`,
        );
      else
        stream.write(
          `${JSON.stringify({
            ...base,
            host: event.host,
            step: event.step.id,
            ok: event.ok,
            exit_code: event.result.exitCode,
            timed_out: event.result.timedOut,
            connection_lost: event.result.connectionLost,
            duration_ms: Math.round(event.result.durationMs),
          })}\n`,
        );
      return;
    }
    if (event.type === "note") {
      if (spinner?.isSpinning) spinner.stop();
      stream.write(`  · ${event.message}\n`);
      spin();
      return;
    }
    if (event.type === "step-output") {
      streamed.add(`${event.host}\0${event.step.id}`);
      // The spinner's line is redrawn under the output, never mixed into it.
      if (spinner?.isSpinning) spinner.stop();
      stream.write(`    │ ${event.host} ${printable(event.line)}\n`);
      spin();
      return;
    }
    const label = `${event.host}  ${event.step.title}`;
    const key = `${event.host}\0${event.step.id}`;
    if (event.type === "step-start") {
      running.set(key, label);
      // Without a terminal a long step is not silent: its start is a line of its own.
      if (!spinner) stream.write(`→ ${label}\n`);
      spin();
      return;
    }
    running.delete(key);
    const shown = streamed.delete(key);
    const took = formatDuration(event.result.durationMs);
    const why = event.ok
      ? ""
      : event.result.timedOut
        ? " (timed out)"
        : event.result.connectionLost
          ? " (connection lost)"
          : ` (exit ${event.result.exitCode})`;
    // A measurement says what it measured even when it passed (a rollout's analysis).
    const measured = event.ok && event.step.id === "analysis" ? `  — ${event.result.tail.trim()}` : "";
    if (spinner) {
      if (event.ok) spinner.success(`${label}  ${took}${measured}`);
      else spinner.error(`${label}  ${took}${why}`);
    } else {
      stream.write(`${event.ok ? "✓" : "✗"} ${label}  ${took}${why}${measured}\n`);
    }
    if (!event.ok && !shown && event.result.tail.trim()) {
      for (const line of event.result.tail.trim().split("\n").slice(-5))
        stream.write(`    │ ${event.host} ${line}\n`);
    }
    spin();
  };
  return Object.assign(reporter, { output: verbose, stop: () => spinner?.stop() });
}
