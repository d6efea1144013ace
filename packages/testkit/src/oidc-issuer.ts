import { randomBytes, randomUUID } from "node:crypto";
// jose signs the emulated ID tokens, as the API verifies them with it: the same library both ways.
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import type { Answer, RecordedRequest } from "./loopback-server.js";

/** The claims of a GitHub Actions ID token that relctl reads, plus the ones GitHub always sends. */
export interface IdTokenClaims {
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  job_workflow_ref: string;
  ref: string;
  actor: string;
  [claim: string]: unknown;
}

export interface MintOptions {
  /** Claims over the defaults (acme/hello, repository 4242, owner 77, release.yml on refs/tags/v1.0.0). */
  readonly claims?: Partial<IdTokenClaims>;
  /** Default: "relctl". */
  readonly audience?: string;
  /** Default: the issuer's URL. */
  readonly issuer?: string;
  /** Seconds from now; default iat now, nbf now - 5 s, exp now + 300 s (GitHub's). */
  readonly issuedAt?: number;
  readonly notBefore?: number;
  readonly expiresIn?: number;
  readonly jti?: string;
  /** RS256 with the issuer's key (default); RS256 with a key it never published; HS256; none. */
  readonly sign?: "issuer" | "foreign-key" | "HS256" | "none";
}

export const DEFAULT_ID_TOKEN_CLAIMS: IdTokenClaims = {
  repository: "acme/hello",
  repository_id: "4242",
  repository_owner: "acme",
  repository_owner_id: "77",
  job_workflow_ref: "acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0",
  ref: "refs/tags/v1.0.0",
  actor: "octocat",
};

/**
 * GitHub Actions' OIDC issuer, on the emulator's loopback URL: the discovery document
 * (`/.well-known/openid-configuration`), its JWKS (`/.well-known/jwks`), tokens minted with chosen
 * claims (`mint`), and the runner's ID-token endpoint that `@actions/core`'s getIDToken calls
 * (`jobEndpoint(claims)` gives ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN for one job).
 */
export class OidcIssuer {
  private keys: { kid: string; privateKey: CryptoKey; jwk: JWK } | undefined;
  private foreign: CryptoKey | undefined;
  private readonly jobs = new Map<string, Partial<IdTokenClaims>>();
  /** Every token the job endpoint handed out, with the audience it was asked for. */
  readonly issued: { audience: string | null; token: string }[] = [];

  constructor(private readonly baseUrl: () => string) {}

  get url(): string {
    return this.baseUrl();
  }

  private async key(): Promise<{ kid: string; privateKey: CryptoKey; jwk: JWK }> {
    if (!this.keys) {
      const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
      const kid = randomBytes(8).toString("hex");
      this.keys = {
        kid,
        privateKey,
        jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" },
      };
    }
    return this.keys;
  }

  /** An ID token with these claims (and lifetime, audience, signature) as GitHub would mint it. */
  async mint(options: MintOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...DEFAULT_ID_TOKEN_CLAIMS, ...options.claims };
    const payload = {
      sub: `repo:${claims.repository}:ref:${claims.ref}`,
      event_name: claims.ref.startsWith("refs/tags/") ? "push" : "workflow_dispatch",
      run_id: "9001",
      ...claims,
    };
    const iat = now + (options.issuedAt ?? 0);
    const fill = <T extends SignJWT | UnsecuredJWT>(jwt: T): T =>
      jwt
        .setIssuer(options.issuer ?? this.url)
        .setAudience(options.audience ?? "relctl")
        .setIssuedAt(iat)
        .setNotBefore(now + (options.notBefore ?? -5))
        .setExpirationTime(now + (options.expiresIn ?? 300))
        .setJti(options.jti ?? randomUUID()) as T;
    const sign = options.sign ?? "issuer";
    if (sign === "none") return fill(new UnsecuredJWT(payload)).encode();
    if (sign === "HS256") {
      // Signed with the issuer's public key as an HMAC secret: the classic algorithm confusion.
      const secret = new TextEncoder().encode(JSON.stringify((await this.key()).jwk));
      return fill(
        new SignJWT(payload).setProtectedHeader({ alg: "HS256", kid: (await this.key()).kid }),
      ).sign(secret);
    }
    const { kid, privateKey } = await this.key();
    if (sign === "foreign-key") {
      this.foreign ??= (await generateKeyPair("RS256")).privateKey;
      return fill(new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid })).sign(this.foreign);
    }
    return fill(new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })).sign(privateKey);
  }

  /**
   * The runner's ID-token endpoint for one job whose tokens carry these claims: the values of
   * ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN. Each request mints a new
   * token (a new jti), with the audience asked for.
   */
  jobEndpoint(claims: Partial<IdTokenClaims> = {}): { url: string; token: string } {
    const token = randomBytes(16).toString("hex");
    this.jobs.set(token, claims);
    return { url: `${this.url}/_apis/idtoken?api-version=2.0`, token };
  }

  /** Answers the issuer's routes; undefined for any other. */
  async answer(req: RecordedRequest): Promise<Answer | undefined> {
    if (req.method !== "GET") return undefined;
    if (req.path === "/.well-known/openid-configuration") {
      return {
        status: 200,
        body: {
          issuer: this.url,
          jwks_uri: `${this.url}/.well-known/jwks`,
          subject_types_supported: ["public", "pairwise"],
          response_types_supported: ["id_token"],
          claims_supported: ["sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "repository"],
          id_token_signing_alg_values_supported: ["RS256"],
          scopes_supported: ["openid"],
        },
      };
    }
    if (req.path === "/.well-known/jwks") return { status: 200, body: { keys: [(await this.key()).jwk] } };
    if (req.path === "/_apis/idtoken") {
      const bearer = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
      const claims = bearer === undefined ? undefined : this.jobs.get(bearer);
      if (!claims) return { status: 401, body: { message: "Bad credentials" } };
      const audience = req.query.get("audience");
      const token = await this.mint({ claims, ...(audience ? { audience } : {}) });
      this.issued.push({ audience, token });
      return { status: 200, body: { count: 1, value: token } };
    }
    return undefined;
  }
}
