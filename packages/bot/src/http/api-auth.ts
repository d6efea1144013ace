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

/**
 * Bearer tokens, looked up by their SHA-256. A verified token is remembered for `cacheMs` (so a
 * revocation takes effect within that time) to spare the database one query per request.
 */
export class ApiAuth {
  private readonly cache = new Map<string, { token: ApiToken; until: number }>();

  constructor(
    private readonly tokens: TokenStore,
    private readonly cacheMs = 5000,
  ) {}

  async authenticate(header: string | undefined): Promise<ApiToken> {
    const match = /^Bearer\s+(\S+)$/i.exec(header ?? "");
    const secret = match?.[1];
    if (!secret || !looksLikeApiToken(secret)) {
      throw new UsageError("unauthorized", "authorization: send `Authorization: Bearer <token>`", {
        hint: "create one with `relctl tokens create <name> --service <service>`",
      });
    }
    const cached = this.cache.get(secret);
    if (cached && cached.until > Date.now()) return cached.token;
    const token = await this.tokens.findActiveToken(secret);
    if (!token) throw new UsageError("unauthorized", "authorization: the token is unknown or revoked");
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(secret, { token, until: Date.now() + this.cacheMs });
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
