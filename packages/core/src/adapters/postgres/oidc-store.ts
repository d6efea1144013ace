import type { Sql, TransactionSql } from "postgres";
import { type OidcPolicy, type OidcPolicyInput, validateOidcPolicy } from "../../domain/oidc.js";
import type { Actor } from "../../domain/release.js";
import { UsageError } from "../../errors.js";
import { ReleaseStore } from "./release-store.js";

type Row = Record<string, unknown>;

function policyFromRow(r: Row): OidcPolicy {
  return {
    id: Number(r.id),
    service: r.service_name as string,
    repositoryId: r.repository_id as string,
    ownerId: r.owner_id as string,
    workflow: r.workflow as string,
    createdBy: r.created_by as string,
    createdAt: r.created_at as Date,
  };
}

export function oidcPolicyJson(p: OidcPolicy): Record<string, unknown> {
  return {
    id: p.id,
    service: p.service,
    repository_id: p.repositoryId,
    owner_id: p.ownerId,
    workflow: p.workflow,
    created_by: p.createdBy,
    created_at: p.createdAt.toISOString(),
  };
}

/**
 * The workflows allowed to act on each service with an OIDC ID token (migration 13), and the
 * ID tokens already used. Allowing and revoking are audited in their transaction.
 */
export class OidcStore {
  private readonly audit: ReleaseStore;

  constructor(readonly sql: Sql) {
    this.audit = new ReleaseStore(sql);
  }

  /** Allows a workflow for a service; allowing the same one again returns it. */
  async allow(input: OidcPolicyInput, actor: Actor): Promise<{ policy: OidcPolicy; created: boolean }> {
    const p = validateOidcPolicy(input);
    return this.sql.begin(async (tx) => {
      const [row] = await tx`
        INSERT INTO oidc_policies (service_name, repository_id, owner_id, workflow, created_by)
        VALUES (${p.service}, ${p.repositoryId}, ${p.ownerId}, ${p.workflow}, ${actor.user})
        ON CONFLICT DO NOTHING RETURNING *`;
      if (!row) {
        const [existing] = await tx`
          SELECT * FROM oidc_policies WHERE service_name = ${p.service} AND repository_id = ${p.repositoryId}
            AND owner_id = ${p.ownerId} AND workflow = ${p.workflow} AND revoked_at IS NULL`;
        return { policy: policyFromRow(existing!), created: false };
      }
      const policy = policyFromRow(row);
      await this.audit.appendAudit(tx, actor, "oidc.allow", null, null, oidcPolicyJson(policy));
      return { policy, created: true };
    }) as Promise<{ policy: OidcPolicy; created: boolean }>;
  }

  /** Revokes one policy by id, or every policy of a service; returns what was revoked. */
  async revoke(target: { service: string; id?: number }, actor: Actor): Promise<OidcPolicy[]> {
    return this.sql.begin(async (tx) => {
      const rows = await tx`
        UPDATE oidc_policies SET revoked_at = now()
        WHERE service_name = ${target.service} AND revoked_at IS NULL
          AND (${target.id ?? null}::bigint IS NULL OR id = ${target.id ?? null})
        RETURNING *`;
      if (rows.length === 0) {
        throw new UsageError(
          "oidc_policy_not_found",
          target.id === undefined
            ? `service: no workflow is allowed for ${target.service}`
            : `id: ${target.service} has no allowed workflow ${target.id}`,
          { hint: "see them with: relctl oidc list" },
        );
      }
      const revoked = rows.map(policyFromRow);
      for (const p of revoked)
        await this.audit.appendAudit(tx, actor, "oidc.revoke", null, oidcPolicyJson(p), null);
      return revoked;
    }) as Promise<OidcPolicy[]>;
  }

  async list(service?: string): Promise<OidcPolicy[]> {
    const rows = await this.sql`
      SELECT * FROM oidc_policies WHERE revoked_at IS NULL
        AND (${service ?? null}::text IS NULL OR service_name = ${service ?? null})
      ORDER BY service_name, id`;
    return rows.map(policyFromRow);
  }

  /**
   * Every active policy (a few per service at most), for authorizeWorkflow to say which claim
   * did not match; sent as this is called.
   */
  async activePolicies(tx: Sql | TransactionSql = this.sql): Promise<OidcPolicy[]> {
    const rows = await tx`SELECT * FROM oidc_policies WHERE revoked_at IS NULL ORDER BY id`;
    return rows.map(policyFromRow);
  }

  /**
   * Records a token's jti as used; false when it was used before (a replay). Committed on its
   * own, so a request refused later still used its token.
   */
  async useToken(issuer: string, jti: string, expiresAt: Date): Promise<boolean> {
    const rows = await this.sql`
      INSERT INTO oidc_token_uses (issuer, jti, expires_at) VALUES (${issuer}, ${jti}, ${expiresAt})
      ON CONFLICT DO NOTHING RETURNING jti`;
    return rows.length > 0;
  }

  /** Deletes the uses of tokens that expired over `graceMs` ago; returns how many. */
  async pruneUsedTokens(graceMs = 60_000): Promise<number> {
    const rows = await this.sql`
      DELETE FROM oidc_token_uses WHERE expires_at < now() - ${graceMs} * interval '1 millisecond' RETURNING 1`;
    return rows.length;
  }
}
