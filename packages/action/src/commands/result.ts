import { EXIT_CODES, type RunOutcome, type RunStatus } from "@relctl/core";
import type { DeploymentState } from "../github-deployments.js";
import type { Session } from "../session.js";

/** What a command did, for the outputs, the summary and the exit code. */
export interface CommandResult {
  readonly ok: boolean;
  readonly exitCode: number;
  readonly title: string;
  /** One line: what happened. */
  readonly message: string;
  readonly hint?: string;
  /** Label → plain-text value, shown in the summary's table. */
  readonly facts: readonly (readonly [string, string])[];
  readonly outputs: {
    readonly releaseId?: number;
    readonly status?: string;
    readonly previousTag?: string | null;
  };
}

/** A runbook's end as a GitHub deployment state. */
export function deploymentStateOf(status: RunStatus): DeploymentState {
  if (status === "succeeded") return "success";
  if (status === "rollback_failed") return "error";
  return "failure";
}

/** Runs one runbook as one part of the summary. */
export async function runPart(
  session: Session,
  title: string,
  run: () => Promise<RunOutcome>,
): Promise<RunOutcome> {
  session.reporter.begin(title);
  try {
    const outcome = await run();
    session.reporter.end(outcome);
    return outcome;
  } catch (err) {
    session.reporter.abort((err as Error).message);
    throw err;
  }
}

/**
 * The release's status as the service last confirmed it (or the job's own, without the service),
 * and the failure when the service was not told everything.
 */
export function releaseState(
  session: Session,
  localId: number | undefined,
  localStatus: string | undefined,
): { releaseId?: number; status?: string; behind?: { message: string } } {
  const remoteId = localId === undefined ? undefined : session.mirror?.remoteIdOf(localId);
  if (remoteId === undefined) return localStatus ? { status: localStatus } : {};
  const status = session.mirror!.confirmed.get(remoteId);
  const problem = session.mirror!.problem();
  return {
    releaseId: remoteId,
    ...(status ? { status } : {}),
    ...(problem
      ? {
          behind: {
            message: `the approvals service still shows release #${remoteId} as ${status}; not sent: ${problem.unsent.join(" → ")} (${problem.error.message})`,
          },
        }
      : {}),
  };
}

/** Exit code of a finished run: 0, or "something outside failed" as the CLI reports it. */
export function exitCodeOf(ok: boolean): number {
  return ok ? 0 : EXIT_CODES.external;
}

export function hostsOf(
  session: Session,
  config: { environments: Readonly<Record<string, { hosts: readonly { name: string }[] }>> },
): string {
  return (config.environments[session.inputs.environment]?.hosts ?? []).map((h) => h.name).join(", ");
}

/**
 * The result of a command that ran a runbook: it succeeded only if the runbook did and the
 * approvals service heard every status change.
 */
export function runbookResult(input: {
  readonly title: string;
  readonly ok: boolean;
  readonly outcome: Pick<RunOutcome, "message" | "hint" | "previousTag">;
  readonly state: ReturnType<typeof releaseState>;
  /** Facts after the release's. */
  readonly facts: readonly (readonly [string, string])[];
}): CommandResult {
  const { outcome, state } = input;
  const fine = input.ok && !state.behind;
  return {
    ok: fine,
    exitCode: exitCodeOf(fine),
    title: input.title,
    message: state.behind ? `${outcome.message}; but ${state.behind.message}` : outcome.message,
    ...(outcome.hint ? { hint: outcome.hint } : {}),
    facts: [
      [
        "Release",
        state.releaseId
          ? `#${state.releaseId} ${state.status ?? ""}`
          : `${state.status ?? "-"} (this job only)`,
      ],
      ...input.facts,
    ],
    outputs: {
      ...(state.releaseId ? { releaseId: state.releaseId } : {}),
      ...(state.status ? { status: state.status } : {}),
      previousTag: outcome.previousTag,
    },
  };
}
