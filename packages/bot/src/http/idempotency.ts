import { createHash } from "node:crypto";
import { UsageError } from "@relctl/core";
import type { Sql, TransactionSql } from "postgres";

export interface StoredResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The request's Idempotency-Key header, checked; undefined when it sent none. */
export function readIdempotencyKey(header: string | string[] | undefined): string | undefined {
  const key = Array.isArray(header) ? header[0] : header;
  if (key !== undefined && !/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new UsageError("invalid_idempotency_key", "Idempotency-Key: 1-200 visible ASCII characters");
  }
  return key;
}

export type IdempotencyClaim = { readonly claimed: true } | ({ readonly claimed: false } & StoredResponse);

/**
 * `Idempotency-Key`: the first answer to a key is stored per token and replayed for every repeat
 * with the same body; the same key with another body is refused (422). `tx` is the write's own
 * transaction (inWriteTransaction): the key is claimed in its first round trip, before the
 * release is locked, so a repeat that arrives while the first attempt still runs waits for it,
 * and the answer is stored with the write (storeIdempotentResponse), so a write is committed with
 * its key or not at all. A retry after any answer (a 503 included) therefore replays what was
 * done, or does it once. `scope` keeps one route's keys from matching another's body; POST
 * /release has none, as its keys were stored before. The token is named by its secret's hash (the
 * token check runs in the same round trip); an unknown token claims nothing.
 *
 * The statements are sent as this is called; the answer is the stored response to replay, if any.
 */
export function claimIdempotencyKey(
  tx: Sql | TransactionSql,
  tokenHash: string,
  key: string,
  body: unknown,
  scope = "",
): Promise<IdempotencyClaim> {
  const hash = createHash("sha256")
    .update(scope ? `${scope}\n${canonical(body)}` : canonical(body))
    .digest("hex");
  const claim = tx`
    INSERT INTO idempotency_keys (token_id, key, request_hash, status, body)
    SELECT id, ${key}, ${hash}, 0, '{}'::jsonb FROM api_tokens WHERE token_hash = ${tokenHash}
      AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
    ON CONFLICT (token_id, key) DO NOTHING RETURNING key`.execute();
  // A separate statement: it sees the first attempt's row once that committed (the claim waited for it).
  const stored = tx`
    SELECT k.request_hash, k.status, k.body FROM idempotency_keys k JOIN api_tokens t ON t.id = k.token_id
    WHERE t.token_hash = ${tokenHash} AND k.key = ${key}`.execute();
  return Promise.all([claim, stored]).then(([claimed, [row]]) => {
    if (claimed.length > 0 || !row) return { claimed: true };
    if (row.request_hash !== hash) {
      throw new UsageError("idempotency_mismatch", "Idempotency-Key: already used with a different body");
    }
    return { claimed: false, status: Number(row.status), body: row.body as Record<string, unknown> };
  });
}

/** Stores the answer to a claimed key, in the write's transaction (sent as this is called). */
export function storeIdempotentResponse(
  tx: Sql | TransactionSql,
  tokenId: number,
  key: string,
  response: StoredResponse,
): Promise<unknown> {
  return tx`
    UPDATE idempotency_keys SET status = ${response.status}, body = ${tx.json(response.body as never)}
    WHERE token_id = ${tokenId} AND key = ${key}`.execute();
}
