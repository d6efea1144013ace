/** Structured logs: one JSON line each, secrets removed from the whole line before it is written. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface LoggerOptions {
  /** Exact values that must never be written (bot token, GitHub token, webhook secret, passwords). */
  readonly secrets: readonly (string | undefined)[];
  readonly write?: (line: string) => void;
  readonly base?: Record<string, unknown>;
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
  const emit = (level: string, message: string, fields?: Record<string, unknown>) => {
    const record = { time: new Date().toISOString(), level, msg: message, ...options.base, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record, errorReplacer);
    } catch {
      line = JSON.stringify({ time: record.time, level, msg: message });
    }
    write(`${redactSecrets(line, options.secrets)}\n`);
  };
  return {
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}

/** Errors log as name, code and first line only: third-party messages may carry request details. */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return { name: e.name, code: e.code, message: e.message.split("\n")[0] };
  }
  return value;
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
