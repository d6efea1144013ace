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
 * with the same body; the same key with another body is refused (422).
 */
export async function withIdempotencyKey(
  sql: Sql,
  tokenId: number,
  key: string | undefined,
  body: unknown,
  run: () => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  if (key === undefined) return { ...(await run()), replayed: false };
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new UsageError("invalid_idempotency_key", "Idempotency-Key: 1-200 visible ASCII characters");
  }
  const hash = createHash("sha256").update(canonical(body)).digest("hex");
  const replay = async () => {
    const [row] = await sql`SELECT * FROM idempotency_keys WHERE token_id = ${tokenId} AND key = ${key}`;
    if (!row) return undefined;
    if (row.request_hash !== hash) {
      throw new UsageError("idempotency_mismatch", "Idempotency-Key: already used with a different body");
    }
    return { status: Number(row.status), body: row.body as Record<string, unknown>, replayed: true };
  };
  const earlier = await replay();
  if (earlier) return earlier;
  const response = await run();
  const [stored] = await sql`
    INSERT INTO idempotency_keys (token_id, key, request_hash, status, body)
    VALUES (${tokenId}, ${key}, ${hash}, ${response.status}, ${sql.json(response.body as never)})
    ON CONFLICT (token_id, key) DO NOTHING RETURNING key`;
  if (stored) return { ...response, replayed: false };
  return (await replay()) ?? { ...response, replayed: false };
}
