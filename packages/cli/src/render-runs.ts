import { formatDuration, quoteArgv, type Run, type StepRecord } from "@relctl/core";

export function renderRunLine(r: Run): string {
  const took = r.finishedAt ? `  ${formatDuration(r.finishedAt.getTime() - r.startedAt.getTime())}` : "";
  const release = r.releaseId === null ? "" : `  release #${r.releaseId}`;
  return `run ${r.id}  ${r.kind} ${r.tag} → ${r.environment}  ${r.status}  by ${r.actor}  ${r.startedAt.toISOString()}${took}${release}${r.error ? `  — ${r.error}` : ""}`;
}

export function runJson(r: Run): Record<string, unknown> {
  return {
    id: r.id,
    kind: r.kind,
    service: r.service,
    environment: r.environment,
    release_id: r.releaseId,
    tag: r.tag,
    from_tag: r.fromTag,
    status: r.status,
    actor: r.actor,
    trace_id: r.traceId,
    error: r.error,
    started_at: r.startedAt.toISOString(),
    finished_at: r.finishedAt?.toISOString() ?? null,
  };
}

/** One step: ✓/✗, host, title, exit code and time; then the command and the output's tail. */
export function renderStep(s: StepRecord): string {
  const end = s.timedOut ? "timed out" : s.connectionLost ? "connection lost" : `exit ${s.exitCode ?? "-"}`;
  const lines = [
    `${s.ok ? "✓" : "✗"} ${s.host}  ${s.title}  (${end}, ${formatDuration(s.durationMs)})`,
    `    $ ${quoteArgv(s.argv)}`,
  ];
  for (const line of s.outputTail.trimEnd().split("\n").filter(Boolean)) lines.push(`    │ ${line}`);
  return lines.join("\n");
}

export function stepJson(s: StepRecord): Record<string, unknown> {
  return {
    host: s.host,
    step: s.step,
    title: s.title,
    argv: s.argv,
    exit_code: s.exitCode,
    timed_out: s.timedOut,
    connection_lost: s.connectionLost,
    duration_ms: s.durationMs,
    ok: s.ok,
    started_at: s.startedAt.toISOString(),
    output_tail: s.outputTail,
  };
}
