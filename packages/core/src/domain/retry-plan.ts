/** How one failed delivery ended, as the sender classifies it. */
export type DeliveryFailure =
  | { readonly kind: "rate_limited"; readonly retryAfterSeconds: number }
  | { readonly kind: "transient" }
  | { readonly kind: "permanent" };

export type RetryPlan = { readonly action: "retry"; readonly at: Date } | { readonly action: "fail" };

export interface RetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Transient failures give up after this many attempts; rate limits never count. */
  readonly maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 60_000, maxAttempts: 40 };

/**
 * When to try again. Pure. 429: exactly when the server said (retry_after), never earlier.
 * 5xx and network errors: exponential back-off from baseDelayMs, capped at maxDelayMs.
 */
export function planRetry(
  failure: DeliveryFailure,
  attempts: number,
  now: Date,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): RetryPlan {
  if (failure.kind === "permanent") return { action: "fail" };
  if (failure.kind === "rate_limited") {
    const seconds = Math.max(1, Math.ceil(failure.retryAfterSeconds));
    return { action: "retry", at: new Date(now.getTime() + seconds * 1000) };
  }
  if (attempts >= policy.maxAttempts) return { action: "fail" };
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1));
  return { action: "retry", at: new Date(now.getTime() + delay) };
}
