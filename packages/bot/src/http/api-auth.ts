import { BlockList, isIP } from "node:net";
import {
  type ApiToken,
  authorizeWorkflow,
  looksLikeApiToken,
  type Member,
  type MemberStore,
  type OidcPolicy,
  type OidcStore,
  type TokenStore,
  tokenAllowsService,
  tokenMember,
  tokenServices,
  UsageError,
  type WorkflowClaims,
  workflowCallerName,
  workflowServices,
} from "@relctl/core";
import type { FastifyRequest } from "fastify";
import type { Sql, TransactionSql } from "postgres";
import { looksLikeJwt, type OidcVerifier } from "./oidc-verifier.js";
import { TokenRevocationWatch } from "./token-revocations.js";

/** A workflow that proved itself with a GitHub OIDC ID token (see OidcVerifier, core's domain/oidc). */
export interface OidcCaller {
  readonly claims: WorkflowClaims;
  /** The active claims policies, read as the request arrived. */
  readonly policies: readonly OidcPolicy[];
  /** How it is named in logs and audit: `oidc:acme/hello@release.yml`. */
  readonly name: string;
}

/** The OIDC door: the verifier (signature, issuer, audience, times) and the policies and used jtis. */
export interface OidcDoor {
  readonly verifier: OidcVerifier;
  readonly store: Pick<OidcStore, "useToken" | "activePolicies" | "pruneUsedTokens">;
}

const PRUNE_EVERY_MS = 60_000;

/**
 * Bearer tokens, looked up by their SHA-256. A verified token is remembered for `cacheMs` to spare
 * the database a query per request, but only while `revocations` listens: every revocation, in
 * any process, empties the cache as it commits, and so does a lost listening connection (the cache
 * is not used until it listens again). A lookup that began before the cache was emptied is not
 * remembered. POST and PATCH /release check the token in their own transaction (readToken) and
 * never use the cache.
 */
export class ApiAuth {
  private readonly cache = new Map<string, { token: ApiToken; until: number }>();
  /** Bumped each time the cache is emptied. */
  private generation = 0;
  private readonly revocations: TokenRevocationWatch | undefined;
  private prunedAt = 0;

  constructor(
    private readonly tokens: TokenStore,
    private readonly cacheMs = 5000,
    sql?: Sql,
    private readonly oidc?: OidcDoor,
  ) {
    if (sql && cacheMs > 0) this.revocations = new TokenRevocationWatch(sql, () => this.forgetAll());
  }

  /** Starts listening for revocations (the cache is unused until then). */
  async start(): Promise<void> {
    await this.revocations?.start();
  }

  async close(): Promise<void> {
    await this.revocations?.stop();
  }

  forgetAll(): void {
    this.cache.clear();
    this.generation++;
  }

  /** Whether the request's bearer is an ID token (a JWT) rather than an API token. */
  bearsIdToken(header: string | undefined): boolean {
    const secret = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
    return secret !== undefined && !looksLikeApiToken(secret) && looksLikeJwt(secret);
  }

  /**
   * An ID token's caller: verified (signature, issuer, audience, times), its jti used once (in
   * the database, committed at once: a request refused later still used its token), and the
   * claims policies read. 401 when any of it fails.
   */
  async authenticateIdToken(header: string | undefined): Promise<OidcCaller> {
    const jwt = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1] ?? "";
    if (!this.oidc) {
      throw new UsageError("unauthorized", "oidc: this service does not take ID tokens", {
        hint: "send an API token: relctl tokens create <name> --service <service>",
      });
    }
    const claims = await this.oidc.verifier.verify(jwt);
    const [fresh, policies] = await Promise.all([
      this.oidc.store.useToken(this.oidc.verifier.issuer, claims.jti, claims.expiresAt),
      this.oidc.store.activePolicies(),
    ]);
    if (!fresh) {
      throw new UsageError("unauthorized", "oidc: the token was used before (its jti): ask for a new one", {
        hint: "an ID token is good for one request: the action asks the runner for one per call",
      });
    }
    if (Date.now() - this.prunedAt > PRUNE_EVERY_MS) {
      this.prunedAt = Date.now();
      void this.oidc.store.pruneUsedTokens().catch(() => {});
    }
    return { claims, policies, name: workflowCallerName(claims) };
  }

  /** The bearer secret of an `Authorization` header; 401 when it is missing or malformed. */
  secretOf(header: string | undefined): string {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    const secret = match?.[1];
    if (!secret || !looksLikeApiToken(secret)) {
      throw new UsageError("unauthorized", "authorization: send `Authorization: Bearer <token>`", {
        hint: "create one with `relctl tokens create <name> --service <service>`",
      });
    }
    return secret;
  }

  async authenticate(header: string | undefined): Promise<ApiToken> {
    const secret = this.secretOf(header);
    const cached = this.cache.get(secret);
    if (
      cached &&
      cached.until > Date.now() &&
      this.revocations?.listening &&
      (cached.token.expiresAt === null || cached.token.expiresAt.getTime() > Date.now())
    )
      return cached.token;
    return this.readToken(this.tokens.sql, secret);
  }

  /**
   * The active token with this secret, checked in `tx` (a write's transaction, or the pool); 401
   * when unknown or revoked. The statement is sent as this is called.
   */
  async readToken(tx: Sql | TransactionSql, secret: string): Promise<ApiToken> {
    const generation = this.generation;
    const token = await this.tokens.findActiveToken(secret, tx);
    if (!token) throw new UsageError("unauthorized", "authorization: the token is unknown or revoked");
    if (this.revocations?.listening && generation === this.generation) {
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(secret, { token, until: Date.now() + this.cacheMs });
    }
    return token;
  }

  requireService(token: ApiToken, service: string): void {
    if (!tokenAllowsService(token.scopes, service)) {
      throw new UsageError("forbidden", `the token ${token.name} is not allowed for the service ${service}`);
    }
  }

  /**
   * The request's caller may act on the service (and on this tag, for a call that names one or
   * acts on a release): an API token by its scopes, a workflow's ID token by the service's claims
   * policy (core's authorizeWorkflow: the workflow role, on its own tag only).
   */
  requireCaller(req: FastifyRequest, service: string, tag?: string): void {
    if (req.oidc) authorizeWorkflow(req.oidc.claims, req.oidc.policies, { service, ...(tag ? { tag } : {}) });
    else this.requireService(req.apiToken!, service);
  }

  /** The services the request's caller may read: "all", or a list. */
  callerServices(req: FastifyRequest): "all" | string[] {
    if (req.oidc) return workflowServices(req.oidc.claims, req.oidc.policies);
    return tokenServices(req.apiToken!.scopes);
  }

  /** The member a token is bound to (scope member:<telegram id>); a service token is refused. */
  async requireMember(req: FastifyRequest, members: Pick<MemberStore, "findByTelegramId">): Promise<Member> {
    if (req.oidc) {
      throw new UsageError(
        "forbidden",
        `${req.oidc.name} is a workflow (OIDC): approvals and rollbacks take a member's personal token`,
        { hint: "relctl login, with a token from `relctl tokens create <name> --member <telegram-id>`" },
      );
    }
    const token = req.apiToken!;
    const id = tokenMember(token.scopes);
    const member = id === undefined ? undefined : await members.findByTelegramId(id);
    if (!member) {
      throw new UsageError(
        "forbidden",
        `the token ${token.name} is not a member's: approvals take a member's token, never a workflow's`,
        { hint: "create one with `relctl tokens create <name> --member <telegram-id>`" },
      );
    }
    return member;
  }

  requireScope(req: FastifyRequest, scope: "alerts"): void {
    if (req.oidc)
      throw new UsageError("forbidden", `${req.oidc.name} is a workflow (OIDC): it lacks the ${scope} scope`);
    const token = req.apiToken!;
    if (!token.scopes.includes(scope)) {
      throw new UsageError("forbidden", `the token ${token.name} lacks the ${scope} scope`);
    }
  }
}

/** The seed's IP allow-list: CIDRs or addresses; empty allows every address. */
export function createIpAllowList(entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => true;
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split("/");
    const type = isIP(address ?? "") === 6 ? "ipv6" : "ipv4";
    if (!isIP(address ?? "")) {
      throw new UsageError("invalid_env", `RELCTL_ALLOWED_IPS: "${entry}" is not an address or CIDR`);
    }
    if (prefix === undefined) list.addAddress(address!, type);
    else list.addSubnet(address!, Number(prefix), type);
  }
  return (ip) => {
    const plain = ip.startsWith("::ffff:") ? ip.slice(7) : ip;
    const type = isIP(plain) === 6 ? "ipv6" : "ipv4";
    return isIP(plain) !== 0 && list.check(plain, type);
  };
}
