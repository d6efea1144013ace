import { createHash, randomBytes } from "node:crypto";
import { UsageError } from "../errors.js";
import { describe, validateService } from "./names.js";

/**
 * API tokens: `rlc_` + 32 random bytes (base64url). Only a SHA-256 of the token is stored: the token
 * has 256 bits of entropy, so a slow hash would add nothing but latency on every request.
 * Scopes: `service:<name>` (create and move that service's releases), `service:*`, `alerts`
 * (post Alertmanager webhooks), `member:<telegram id>` (approve and reject as that member).
 */
export const TOKEN_PREFIX = "rlc_";

export function generateApiToken(): string {
  return `${TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
}

export function hashApiToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The first characters after the prefix, enough to tell tokens apart in a list. */
export function tokenDisplayPrefix(token: string): string {
  return token.slice(0, TOKEN_PREFIX.length + 6);
}

export function looksLikeApiToken(value: string): boolean {
  return /^rlc_[A-Za-z0-9_-]{43}$/.test(value);
}

export function buildTokenScopes(input: {
  services?: readonly string[];
  alerts?: boolean;
  /** The member (Telegram id) the token acts as: it may approve and reject with that member's roles. */
  member?: number;
}): string[] {
  const services = (input.services ?? []).map((s, i) =>
    s === "*" ? "service:*" : `service:${validateService(s, `service[${i}]`)}`,
  );
  const scopes = [
    ...new Set([
      ...services,
      ...(input.alerts ? ["alerts"] : []),
      ...(input.member !== undefined ? [`member:${input.member}`] : []),
    ]),
  ];
  if (scopes.length === 0) {
    throw new UsageError("scope_required", "service: a token needs at least one --service (or --alerts)");
  }
  return scopes;
}

export function tokenAllowsService(scopes: readonly string[], service: string): boolean {
  return scopes.includes("service:*") || scopes.includes(`service:${service}`);
}

/** The member (Telegram id) a token is bound to, if any. */
export function tokenMember(scopes: readonly string[]): number | undefined {
  const scope = scopes.find((s) => /^member:\d+$/.test(s));
  return scope ? Number(scope.slice("member:".length)) : undefined;
}

/** The services a token may see, or "all". */
export function tokenServices(scopes: readonly string[]): "all" | string[] {
  if (scopes.includes("service:*")) return "all";
  return scopes.filter((s) => s.startsWith("service:")).map((s) => s.slice("service:".length));
}

export function validateTokenName(value: unknown): string {
  if (typeof value !== "string" || !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(value)) {
    throw new UsageError(
      "invalid_token_name",
      `name: ${describe(value)} is not a token name (a-z 0-9 . _ -)`,
    );
  }
  return value;
}

/** How long a new token lives when `--expires` is not given. */
export const DEFAULT_TOKEN_LIFETIME = "90d";
const DAY = 24 * 3600_000;

/**
 * A token's lifetime: "never", or a number of days (d), hours (h) or weeks (w), from 1 hour to
 * 5 years. Milliseconds, or null for never.
 */
export function parseTokenLifetime(value: string, field = "expires"): number | null {
  const text = value.trim();
  if (text === "never") return null;
  const m = /^(\d{1,5})(h|d|w)$/.exec(text);
  const ms = m ? Number(m[1]) * { h: 3600_000, d: DAY, w: 7 * DAY }[m[2] as "h" | "d" | "w"] : Number.NaN;
  if (!m || ms < 3600_000 || ms > 5 * 365 * DAY) {
    throw new UsageError(
      "invalid_lifetime",
      `${field}: expected "never" or a lifetime from 1h to 5 years such as 12h, 30d or 8w, got ${JSON.stringify(text)}`,
      { details: { field } },
    );
  }
  return ms;
}
