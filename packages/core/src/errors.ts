/**
 * One error model. Every error relctl raises on purpose is a RelctlError with a stable `code`,
 * a one-line message and, where it helps, a hint. Subclasses say who must act.
 * Exit codes are part of the CLI's documented surface (see README "Exit codes").
 */

export type ErrorKind = "usage" | "state" | "external" | "bug";

export const EXIT_CODES: Readonly<Record<ErrorKind, number>> = {
  usage: 2, // bad input or config: the user fixes the call
  state: 3, // the release/lock is not in a state that allows this
  external: 4, // something outside failed: SSH, database, GitHub, Telegram, a remote command
  bug: 70, // our bug (EX_SOFTWARE)
};

export interface ErrorOptions {
  readonly hint?: string;
  readonly cause?: unknown;
  readonly details?: Readonly<Record<string, unknown>>;
}

export abstract class RelctlError extends Error {
  abstract readonly kind: ErrorKind;
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: string, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitCode(): number {
    return EXIT_CODES[this.kind];
  }

  toJSON(): Record<string, unknown> {
    return {
      error: { code: this.code, kind: this.kind, message: this.message, hint: this.hint, ...this.details },
    };
  }
}

/** The caller (user, workflow, config file) must change something. */
export class UsageError extends RelctlError {
  readonly kind = "usage" as const;
}

/** The request is valid but the current state forbids it (illegal transition, lock held, …). */
export class StateError extends RelctlError {
  readonly kind = "state" as const;
}

/** Something outside relctl failed: SSH, a remote command, the database, GitHub, Telegram. */
export class ExternalError extends RelctlError {
  readonly kind = "external" as const;
}

/** Our bug. */
export class BugError extends RelctlError {
  readonly kind = "bug" as const;
}

export function isRelctlError(value: unknown): value is RelctlError {
  return value instanceof RelctlError;
}

/** Turns anything thrown into a RelctlError without leaking secrets from third-party messages. */
export function toRelctlError(value: unknown): RelctlError {
  if (value instanceof RelctlError) return value;
  const message = value instanceof Error ? value.message : String(value);
  if ((value as { code?: unknown } | null)?.code === "42501") {
    // PostgreSQL's insufficient_privilege: the role relctl runs as lacks a grant.
    return new ExternalError("db_permission_denied", `database: ${message.split("\n")[0]}`, {
      hint: "the database owner grants the role relctl runs as: relctl db migrate --owner-url … --grant <role>",
      cause: value,
    });
  }
  return new BugError("unexpected", message.split("\n")[0] ?? "unexpected error", { cause: value });
}
