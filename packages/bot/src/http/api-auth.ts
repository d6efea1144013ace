import { BlockList, isIP } from "node:net";
import {
  type ApiToken,
  looksLikeApiToken,
  type Member,
  type MemberStore,
  type TokenStore,
  tokenAllowsService,
  tokenMember,
  UsageError,
} from "@relctl/core";
import type { Sql, TransactionSql } from "postgres";
import { TokenRevocationWatch } from "./token-revocations.js";

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

  constructor(
    private readonly tokens: TokenStore,
    private readonly cacheMs = 5000,
    sql?: Sql,
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

  /** The member a token is bound to (scope member:<telegram id>); a service token is refused. */
  async requireMember(token: ApiToken, members: Pick<MemberStore, "findByTelegramId">): Promise<Member> {
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

  requireScope(token: ApiToken, scope: "alerts"): void {
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
