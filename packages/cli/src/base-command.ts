import { userInfo } from "node:os";
import { Command } from "@oclif/core/command";
import * as Errors from "@oclif/core/errors";
import * as Flags from "@oclif/core/flags";
import type * as Interfaces from "@oclif/core/interfaces";
import type { Span } from "@opentelemetry/api";
import {
  type Actor,
  type Channel,
  type DecidePorts,
  DeployRequestStore,
  ExternalError,
  endSpan,
  type FreezeOverride,
  isRelctlError,
  MemberStore,
  openContext,
  parseTraceId,
  printable,
  type RelctlContext,
  RelctlError,
  startOperationSpan,
  type TraceRef,
  toRelctlError,
  traceparentOf,
  UsageError,
  validateReason,
} from "@relctl/core";
import {
  approvalsServiceUrl,
  createPersonalApi,
  type PersonalApi,
  readLogin,
  type SavedLogin,
} from "./personal-api.js";
import { startTelemetry } from "./telemetry.js";

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof BaseCommand)["baseFlags"] & T["flags"]
>;

/**
 * Every relctl command: --json, --as, --config, --state-dir, and the one place where errors
 * become output: a single line on stderr (and an error document on stdout with --json) and a
 * documented exit code (2 usage, 3 state, 4 external, 70 bug).
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true;
  /** Commands that run steps on the hosts: their SSH client loads while the database opens. */
  protected readonly connectsToHosts: boolean = false;

  static override baseFlags = {
    as: Flags.string({
      description: "Act as this user (default: $RELCTL_USER, else the OS user).",
      helpGroup: "GLOBAL",
    }),
    config: Flags.string({
      char: "c",
      description: "Path of relctl.yml (default: $RELCTL_CONFIG, else ./relctl.yml).",
      helpGroup: "GLOBAL",
    }),
    "state-dir": Flags.string({
      description: "State folder for the embedded database (default: $RELCTL_STATE_DIR, else ./.relctl).",
      helpGroup: "GLOBAL",
    }),
  };

  protected flags!: BaseFlags<T>;
  private context: RelctlContext | undefined;
  private operation: { span: Span; ref: TraceRef } | undefined;
  private stopTelemetry: (() => Promise<void>) | undefined;
  /** A command that registers its own OpenTelemetry SDK (relctl serve) says so. */
  protected readonly ownTelemetry: boolean = false;

  protected override async init(): Promise<void> {
    await super.init();
    if (!this.ownTelemetry) this.stopTelemetry = await startTelemetry(process.env);
    this.operation = startOperationSpan(
      `relctl ${this.id ?? ""}`.trim(),
      parseTraceId(process.env.RELCTL_TRACE_ID),
    );
    const { flags } = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    });
    this.flags = flags as BaseFlags<T>;
  }

  protected actor(channel: Channel = (process.env.RELCTL_CHANNEL as Channel | undefined) ?? "cli"): Actor {
    const user = this.flags?.as ?? process.env.RELCTL_USER ?? safeOsUser();
    if (!user || !/^[A-Za-z0-9@._:+-]{1,64}$/.test(user)) {
      throw new UsageError("invalid_user", `as: ${JSON.stringify(user)} is not a valid user name`);
    }
    const ref = this.operation?.ref;
    return {
      user,
      channel: channel === "action" ? "action" : channel === "cli-admin" ? "cli-admin" : "cli",
      ...(ref ? { traceId: ref.traceId, spanId: ref.spanId } : {}),
    };
  }

  /**
   * Administrator mode (no RELCTL_API_URL): the command works on the database itself and acts as
   * whoever --as says; the audit records it under the channel cli-admin.
   */
  protected adminActor(): Actor {
    return this.actor(process.env.RELCTL_CHANNEL === "action" ? "action" : "cli-admin");
  }

  /**
   * With an approvals service (RELCTL_API_URL): its API with the personal token `relctl login`
   * saved, so the command acts as the member the token is bound to. --as is refused there: who
   * acts is proven, never said. Undefined in administrator mode.
   */
  protected personalApi(): { api: PersonalApi; login: SavedLogin } | undefined {
    const apiUrl = approvalsServiceUrl(process.env);
    if (!apiUrl) return undefined;
    if (this.flags?.as !== undefined) {
      throw new UsageError(
        "as_refused",
        "as: refused with an approvals service (RELCTL_API_URL): you act as the member you logged in as (relctl login)",
      );
    }
    const login = readLogin(process.env, apiUrl);
    const ref = this.operation?.ref;
    return {
      login,
      api: createPersonalApi({
        apiUrl,
        token: login.token,
        ...(ref ? { traceparent: traceparentOf(ref) } : {}),
      }),
    };
  }

  protected async ctx(): Promise<RelctlContext> {
    this.context ??= await openContext({
      env: process.env,
      cwd: process.cwd(),
      ...(this.flags?.config ? { configPath: this.flags.config } : {}),
      ...(this.flags?.["state-dir"] ? { stateDir: this.flags["state-dir"] } : {}),
      connectsToHosts: this.connectsToHosts,
    });
    return this.context;
  }

  /** The ports of the approval use-case, on this command's database and relctl.yml. */
  protected decidePorts(ctx: RelctlContext): DecidePorts {
    return {
      releases: ctx.store,
      deployRequests: new DeployRequestStore(ctx.db.sql),
      configFor: (service) => ctx.config(service),
    };
  }

  /** A freeze override by the acting user, with the roles the members list gives them. */
  protected async freezeOverride(user: string, reason: string): Promise<FreezeOverride> {
    if (!reason.trim())
      throw new UsageError("reason_required", "override-freeze: say why the freeze is overridden");
    const members = await new MemberStore((await this.ctx()).db.sql).listMembers();
    const member = members.find((m) => m.name === user || m.githubLogin === user);
    return { by: user, roles: member?.roles ?? [], reason: validateReason(reason, "override-freeze") };
  }

  /** Results and notes, for helpers outside the command. */
  protected output(): { log(line: string): void; note(line: string): void } {
    return { log: (line) => this.log(line), note: (line) => this.note(line) };
  }

  /** Progress and notes go to stderr, so stdout carries only results. */
  protected note(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${printable(message)}\n`);
  }

  /** Results on stdout; text from people and hosts in them never drives the terminal. */
  override log(message = "", ...args: unknown[]): void {
    super.log(printable(message), ...args);
  }

  protected override async finally(err: Error | undefined): Promise<void> {
    if (this.operation) endSpan(this.operation.span, !err, err?.message);
    await this.stopTelemetry?.();
    await this.context?.close();
    return super.finally(err);
  }

  protected override toErrorJson(err: unknown): unknown {
    return toRelctlError(normalizeError(err)).toJSON();
  }

  protected override async catch(err: Interfaces.CommandError): Promise<void> {
    const error = toRelctlError(normalizeError(err));
    process.exitCode = err instanceof InterruptedError ? err.signalExitCode : error.exitCode;
    if (this.jsonEnabled()) this.logJson(error.toJSON());
    const line = printable(`relctl: ${error.message}${error.hint ? ` (${error.hint})` : ""}`);
    process.stderr.write(`${line}\n`);
    if (process.env.RELCTL_DEBUG === "1")
      process.stderr.write(`${(error.cause as Error | undefined)?.stack ?? error.stack}\n`);
  }
}

/** A run ended by SIGINT/SIGTERM: the shell's exit code for the signal (130, 143). */
export class InterruptedError extends ExternalError {
  readonly signalExitCode: number;
  constructor(signal: NodeJS.Signals, message: string, options: { hint?: string } = {}) {
    super("interrupted", message, options);
    this.signalExitCode = signal === "SIGINT" ? 130 : 143;
  }
}

/** oclif's own parse errors become one-line usage errors. */
function normalizeError(err: unknown): unknown {
  if (isRelctlError(err)) return err;
  if (err instanceof Errors.CLIError) {
    const first = err.message
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      // oclif's preamble says nothing: the line after it does.
      .filter((l) => !/^The following errors? occurred:?$/i.test(l));
    const text = first
      .slice(0, 2)
      .map((l) => l.replace(/:+$/, ""))
      .join(": ")
      .replace(/See more help with --help$/, "")
      .replace(/[:.\s]+$/, "");
    return new UsageError("usage", `${text} (see --help)`);
  }
  return err instanceof RelctlError ? err : err;
}

function safeOsUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}
