import type { Sql, TransactionSql } from "postgres";
import {
  buildTokenScopes,
  generateApiToken,
  hashApiToken,
  tokenDisplayPrefix,
  validateTokenName,
} from "../../domain/api-token.js";
import type { Actor } from "../../domain/release.js";
import { UsageError } from "../../errors.js";
import { ReleaseStore } from "./release-store.js";

export interface ApiToken {
  readonly id: number;
  readonly name: string;
  readonly prefix: string;
  readonly scopes: readonly string[];
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** When it stops working; null: never. */
  readonly expiresAt: Date | null;
}

type Row = Record<string, unknown>;

function tokenFromRow(r: Row): ApiToken {
  return {
    id: Number(r.id),
    name: r.name as string,
    prefix: r.prefix as string,
    scopes: r.scopes as string[],
    createdBy: r.created_by as string,
    createdAt: r.created_at as Date,
    revokedAt: (r.revoked_at as Date | null) ?? null,
    expiresAt: (r.expires_at as Date | null) ?? null,
  };
}

/** API tokens, stored hashed; creation and revocation are audited. */
export class TokenStore {
  private readonly audit: ReleaseStore;

  constructor(readonly sql: Sql) {
    this.audit = new ReleaseStore(sql);
  }

  /** Creates a token; the secret is returned once and never stored. */
  async createToken(
    input: {
      name: string;
      services?: readonly string[];
      alerts?: boolean;
      member?: number;
      /** Milliseconds it lives; null or absent: it never expires. */
      lifetimeMs?: number | null;
    },
    actor: Actor,
  ): Promise<{ token: ApiToken; secret: string }> {
    const name = validateTokenName(input.name);
    const scopes = buildTokenScopes(input);
    const secret = generateApiToken();
    return this.sql.begin(async (tx) => {
      if (input.member !== undefined) {
        const [member] = await tx`SELECT 1 FROM members WHERE telegram_id = ${input.member}`;
        if (!member)
          throw new UsageError("member_not_found", `member: ${input.member} is not a member`, {
            hint: "add them first: relctl members add <telegram-id> --name … --role …",
          });
      }
      // An expired token of that name is closed (revoked when it expired) so the name is free.
      await tx`UPDATE api_tokens SET revoked_at = expires_at
        WHERE name = ${name} AND revoked_at IS NULL AND expires_at <= now()`;
      const [exists] = await tx`SELECT 1 FROM api_tokens WHERE name = ${name} AND revoked_at IS NULL`;
      if (exists) {
        throw new UsageError("token_exists", `name: an active token named ${name} exists`, {
          hint: `revoke it first: relctl tokens revoke ${name}`,
        });
      }
      const [row] = await tx`
        INSERT INTO api_tokens (name, token_hash, prefix, scopes, created_by, expires_at)
        VALUES (${name}, ${hashApiToken(secret)}, ${tokenDisplayPrefix(secret)}, ${scopes}, ${actor.user},
          ${input.lifetimeMs ? tx`now() + ${input.lifetimeMs} * interval '1 millisecond'` : null})
        RETURNING *`;
      const token = tokenFromRow(row!);
      await this.audit.appendAudit(tx, actor, "token.create", null, null, {
        name,
        scopes,
        prefix: token.prefix,
        expires_at: token.expiresAt?.toISOString() ?? null,
      });
      return { token, secret };
    }) as Promise<{ token: ApiToken; secret: string }>;
  }

  async revokeToken(name: string, actor: Actor): Promise<ApiToken> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx`
        UPDATE api_tokens SET revoked_at = now() WHERE name = ${name} AND (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) RETURNING *`;
      if (!row) throw new UsageError("token_not_found", `name: no active token named ${name}`);
      const token = tokenFromRow(row);
      await this.audit.appendAudit(tx, actor, "token.revoke", null, { name, prefix: token.prefix }, null);
      return token;
    }) as Promise<ApiToken>;
  }

  async listTokens(options: { includeRevoked?: boolean } = {}): Promise<ApiToken[]> {
    const rows = await this.sql`
      SELECT * FROM api_tokens WHERE ${options.includeRevoked ?? false} OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) ORDER BY id`;
    return rows.map(tokenFromRow);
  }

  /**
   * The active token with this secret, or undefined; in `tx` when given (the statement is sent as
   * this is called, so it can share a round trip with others).
   */
  async findActiveToken(secret: string, tx: Sql | TransactionSql = this.sql): Promise<ApiToken | undefined> {
    const [row] = await tx`
      SELECT * FROM api_tokens WHERE token_hash = ${hashApiToken(secret)} AND (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now()))`;
    return row ? tokenFromRow(row) : undefined;
  }
}
