import { activeTraceRef } from "@relctl/core";
import { pino } from "pino";

/**
 * Structured logs (pino): one JSON line each, at or above LOG_LEVEL, with the active trace's
 * trace_id and span_id, and secrets removed from the whole line before it is written.
 */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  /** Exact values that must never be written (bot token, GitHub token, webhook secret, passwords). */
  readonly secrets: readonly (string | undefined)[];
  readonly write?: (line: string) => void;
  readonly base?: Record<string, unknown>;
  /** The lowest level written (LOG_LEVEL; default info). */
  readonly level?: LogLevel;
}

const PATTERNS: readonly [RegExp, string][] = [
  // Telegram bot tokens, e.g. inside https://api.telegram.org/bot<token>/sendMessage
  [/bot\d{3,}:[A-Za-z0-9_-]{10,}/g, "bot[REDACTED]"],
  [/\b\d{6,}:[A-Za-z0-9_-]{30,}\b/g, "[REDACTED]"],
  // Passwords in URLs (postgres://user:pass@host, redis://:pass@host)
  [/(\/\/[^/\s:@]*:)[^@\s/]+@/g, "$1[REDACTED]@"],
  // relctl API tokens and GitHub tokens
  [/rlc_[A-Za-z0-9_-]{20,}/g, "rlc_[REDACTED]"],
  [/\b(gh[pousr]_|github_pat_)[A-Za-z0-9_]{10,}/g, "$1[REDACTED]"],
];

/** Removes secrets from text. Pure. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 6) out = out.split(s).join("[REDACTED]");
  }
  for (const [re, replacement] of PATTERNS) out = out.replace(re, replacement);
  return out;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const logger = pino(
    {
      level: options.level ?? "info",
      base: options.base ?? null,
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // Errors anywhere in the fields log as name, code and first line.
        log: (fields) => JSON.parse(JSON.stringify(fields, errorReplacer)) as Record<string, unknown>,
      },
      mixin() {
        const ref = activeTraceRef();
        return ref ? { trace_id: ref.traceId, span_id: ref.spanId } : {};
      },
    },
    { write: (line: string) => write(redactSecrets(line, options.secrets)) },
  );
  const at =
    (level: "debug" | "info" | "warn" | "error") => (message: string, fields?: Record<string, unknown>) =>
      logger[level](fields ?? {}, message);
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** Errors log as name, code and first line only: third-party messages may carry request details. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message.split("\n")[0] };
  }
  return value;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
