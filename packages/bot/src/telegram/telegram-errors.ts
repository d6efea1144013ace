import type { DeliveryFailure } from "@relctl/core";
import { GrammyError, HttpError } from "grammy";

/** How a failed Bot API call should be retried. Pure. */
export function classifyTelegramError(err: unknown): DeliveryFailure {
  if (err instanceof GrammyError) {
    if (err.error_code === 429) {
      return { kind: "rate_limited", retryAfterSeconds: err.parameters.retry_after ?? 1 };
    }
    if (err.error_code >= 500) return { kind: "transient" };
    return { kind: "permanent" };
  }
  if (err instanceof HttpError) return { kind: "transient" };
  return { kind: "transient" };
}

export function isNotModified(err: unknown): boolean {
  return err instanceof GrammyError && /message is not modified/i.test(err.description);
}

export function isMessageGone(err: unknown): boolean {
  return (
    err instanceof GrammyError &&
    err.error_code === 400 &&
    /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(err.description)
  );
}

/**
 * A message Telegram will not delete, for good: gone already, over 48 hours old, or the bot lacks
 * the right (400), or the bot is no longer in the chat (403). Not a 429, a 5xx or no answer.
 */
export function isUndeletable(err: unknown): boolean {
  return err instanceof GrammyError && (err.error_code === 400 || err.error_code === 403);
}

/** One line about a failure, for the outbox's last_error and the logs (no URLs, so no token). */
export function describeTelegramError(err: unknown): string {
  if (err instanceof GrammyError) return `${err.error_code} ${err.description}`.slice(0, 300);
  if (err instanceof HttpError) return "network error talking to the Bot API";
  return err instanceof Error ? err.message.split("\n")[0]!.slice(0, 300) : "unexpected error";
}
