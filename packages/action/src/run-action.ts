import { randomBytes } from "node:crypto";
import { type Interruption, type RunReport, renderRunReportMarkdown, toRelctlError } from "@relctl/core";
import { runProductionCommand } from "./commands/production.js";
import type { CommandResult } from "./commands/result.js";
import { runRollbackCommand } from "./commands/rollback.js";
import { runStageCommand } from "./commands/stage.js";
import { runStatusCommand } from "./commands/status.js";
import { type ActionCommand, type ActionInputs, parseActionInputs, rawInput, secretsOf } from "./inputs.js";
import type { ActionIo } from "./runner-io.js";
import { Session, type SessionAdapters } from "./session.js";
import { readWorkflowContext, type WorkflowContext } from "./workflow-context.js";

const COMMANDS: Readonly<Record<ActionCommand, (session: Session) => Promise<CommandResult>>> = {
  stage: runStageCommand,
  production: runProductionCommand,
  rollback: runRollbackCommand,
  status: runStatusCommand,
};

export interface RunActionOptions {
  /** The step's environment (INPUT_*, GITHUB_*, RUNNER_TEMP and the job's variables). */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** The text of the file at GITHUB_EVENT_PATH. */
  readonly eventJson: string | undefined;
  readonly io: ActionIo;
  readonly adapters?: SessionAdapters;
  /**
   * SIGINT/SIGTERM of the job (a cancelled workflow): the running step is ended on its host and
   * the run compensates as its plan says; main.ts feeds it the process's signals.
   */
  readonly interruption?: Interruption;
}

/** Inputs that are secrets, masked before anything else happens (even before they are checked). */
const SECRET_INPUTS = ["api-token", "ssh-private-key", "github-token"];

/**
 * The action: checks every input, runs one command, and reports it to the runner. This is the one
 * place where errors become output: an error annotation with one line, a job summary, and relctl's
 * exit code (2 inputs or config, 3 state, 4 something outside failed, 70 a bug).
 */
export async function runAction(options: RunActionOptions): Promise<number> {
  const { env, io } = options;
  for (const name of SECRET_INPUTS) {
    const value = rawInput(env, name)?.trim();
    if (value)
      for (const part of [value, ...value.split("\n").filter((l) => l.trim().length >= 8)])
        io.mask(part.trim());
  }
  const context = readWorkflowContext(env, options.eventJson, options.cwd);
  const traceId = randomBytes(16).toString("hex");
  let inputs: ActionInputs | undefined;
  let session: Session | undefined;
  try {
    inputs = parseActionInputs(env, context);
    for (const secret of secretsOf(inputs)) io.mask(secret);
    session = new Session(inputs, context, io, traceId, env, options.adapters, options.interruption);
    const result = interrupted(await COMMANDS[inputs.command](session), options.interruption);
    publishOutputs(io, result.outputs, traceId);
    await io.appendSummary(renderRunReportMarkdown(reportOf(session, context, result)));
    if (!result.ok) io.error(`${result.message}${result.hint ? ` (${result.hint})` : ""}`);
    return result.exitCode;
  } catch (err) {
    const error = toRelctlError(err);
    io.error(`${error.message}${error.hint ? ` (${error.hint})` : ""}`);
    if (env.RELCTL_DEBUG === "1") io.info((error.cause as Error | undefined)?.stack ?? error.stack ?? "");
    if (session) io.setOutput("trace-id", traceId);
    const report: RunReport = {
      title: inputs
        ? `relctl ${inputs.command}${inputs.tag ? `: ${inputs.tag}` : ""}`
        : "relctl: the inputs were refused",
      ok: false,
      result: error.message,
      ...(error.hint ? { hint: error.hint } : {}),
      facts: [],
      ...(session ? { codeFacts: [["Trace id", traceId]] as const } : {}),
      parts: session?.reporter.parts ?? [],
      links: linksOf(context),
      notices: session?.notices ?? [],
      ...(session?.reporter.failureOutput ? { failureOutput: session.reporter.failureOutput } : {}),
    };
    await io.appendSummary(renderRunReportMarkdown(report)).catch(() => {});
    return error.exitCode;
  } finally {
    await session?.close();
  }
}

/** A run a signal ended is reported as interrupted, with the shell's exit code (130, 143). */
function interrupted(result: CommandResult, interruption: Interruption | undefined): CommandResult {
  const signal = interruption?.signals[0];
  if (!signal) return result;
  return {
    ...result,
    ok: false,
    exitCode: signal === "SIGINT" ? 130 : 143,
    message: `interrupted by ${signal} (the job was cancelled): ${result.message}`,
  };
}

function publishOutputs(io: ActionIo, outputs: CommandResult["outputs"], traceId: string): void {
  io.setOutput("release-id", outputs.releaseId ? String(outputs.releaseId) : "");
  io.setOutput("status", outputs.status ?? "");
  io.setOutput("previous-tag", outputs.previousTag ?? "");
  io.setOutput("trace-id", traceId);
  // Later steps of the job (a relctl CLI call, a notification) carry the same trace and release.
  io.exportVariable("RELCTL_TRACE_ID", traceId);
  if (outputs.releaseId) io.exportVariable("RELCTL_RELEASE_ID", String(outputs.releaseId));
}

function linksOf(context: WorkflowContext): { text: string; url: string }[] {
  const links: { text: string; url: string }[] = [];
  if (context.runUrl) links.push({ text: "Workflow run", url: context.runUrl });
  if (context.repository) {
    links.push({
      text: "Deployments",
      url: `${context.serverUrl}/${context.repository.owner}/${context.repository.repo}/deployments`,
    });
  }
  return links;
}

function reportOf(session: Session, context: WorkflowContext, result: CommandResult): RunReport {
  return {
    title: result.title,
    ok: result.ok,
    result: result.message,
    ...(result.hint && !result.ok ? { hint: result.hint } : {}),
    facts: result.facts,
    codeFacts: [["Trace id", session.traceId]],
    parts: session.reporter.parts,
    links: linksOf(context),
    notices: session.notices,
    ...(session.reporter.failureOutput && !result.ok
      ? { failureOutput: session.reporter.failureOutput }
      : {}),
  };
}
