import { createHash } from "node:crypto";
import { UsageError } from "@relctl/core";
import type { Sql } from "postgres";

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

/**
 * `Idempotency-Key`: the first answer to a key is stored per token and replayed for every repeat
 * with the same body; the same key with another body is refused (422). `tx` is the write's own
 * transaction (inRequestTransaction): the key is claimed first, so a repeat that arrives while
 * the first attempt still runs waits for it, and the answer is stored with the write, so a write
 * is committed with its key or not at all. A retry after any answer (a 503 included) therefore
 * replays what was done, or does it once. `scope` keeps one route's keys from matching
 * another's body; POST /release has none, as its keys were stored before.
 */
export async function withIdempotencyKey(
  tx: Sql,
  tokenId: number,
  key: string | undefined,
  body: unknown,
  run: () => Promise<StoredResponse>,
  scope = "",
): Promise<StoredResponse & { replayed: boolean }> {
  if (key === undefined) return { ...(await run()), replayed: false };
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new UsageError("invalid_idempotency_key", "Idempotency-Key: 1-200 visible ASCII characters");
  }
  const hash = createHash("sha256")
    .update(scope ? `${scope}\n${canonical(body)}` : canonical(body))
    .digest("hex");
  const [claimed] = await tx`
    INSERT INTO idempotency_keys (token_id, key, request_hash, status, body)
    VALUES (${tokenId}, ${key}, ${hash}, 0, ${tx.json({})})
    ON CONFLICT (token_id, key) DO NOTHING RETURNING key`;
  if (!claimed) {
    const [row] = await tx`SELECT * FROM idempotency_keys WHERE token_id = ${tokenId} AND key = ${key}`;
    if (row!.request_hash !== hash) {
      throw new UsageError("idempotency_mismatch", "Idempotency-Key: already used with a different body");
    }
    return { status: Number(row!.status), body: row!.body as Record<string, unknown>, replayed: true };
  }
  const response = await run();
  await tx`
    UPDATE idempotency_keys SET status = ${response.status}, body = ${tx.json(response.body as never)}
    WHERE token_id = ${tokenId} AND key = ${key}`;
  return { ...response, replayed: false };
}
