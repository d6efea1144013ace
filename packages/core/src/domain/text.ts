import { UsageError } from "../errors.js";

/** The longest reason a person may give (a rejection, a lock, an override): one screen, one card. */
export const MAX_REASON_LENGTH = 1000;

/**
 * Characters that drive a terminal or reorder what it shows: C0 and C1 controls (ESC, BEL, CR, …)
 * except newline and tab, DEL, and the bidirectional overrides and isolates.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/;
const CONTROL_ALL = new RegExp(CONTROL.source, "g");

/**
 * A reason typed by a person, trimmed: refused when empty, longer than MAX_REASON_LENGTH, or
 * holding a control character (text from people is data: it never drives a terminal).
 */
export function validateReason(value: unknown, field = "reason"): string {
  const text = typeof value === "string" ? value.trim() : "";
  if (!text)
    throw new UsageError("reason_required", `${field}: say why (a non-empty text)`, { details: { field } });
  if (text.length > MAX_REASON_LENGTH) {
    throw new UsageError(
      "reason_too_long",
      `${field}: at most ${MAX_REASON_LENGTH} characters (got ${text.length})`,
      { details: { field } },
    );
  }
  const found = CONTROL.exec(text);
  if (found) {
    const code = found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    throw new UsageError(
      "reason_control_character",
      `${field}: control characters are not allowed (U+${code} at position ${found.index + 1})`,
      { details: { field } },
    );
  }
  return text;
}

/** Text from elsewhere made safe to print: each control character shown as an escape (\u001b). */
export function printable(text: string): string {
  return text.replace(CONTROL_ALL, (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`);
}
