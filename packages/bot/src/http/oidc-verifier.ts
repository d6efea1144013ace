import { ExternalError, UsageError, type WorkflowClaims, workflowClaimsOf } from "@relctl/core";
// jose (panva): a well-kept, dependency-free JOSE library on WebCrypto. Verifying a JWT is
// exactly where a hand-written check goes wrong (algorithm confusion, `none`, key selection,
// time claims), so relctl verifies ID tokens with it and never with its own crypto.
import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTVerifyGetKey, jwtVerify } from "jose";

export interface OidcVerifierOptions {
  /** The exact `iss` expected; its discovery document names the JWKS. */
  readonly issuer: string;
  /** The exact `aud` expected. */
  readonly audience: string;
  /** Seconds of clock difference tolerated on exp, nbf and iat (default 30). */
  readonly leewaySeconds?: number;
  /** The oldest token accepted, by its iat, in seconds (default 900; GitHub's live about 5 minutes). */
  readonly maxAgeSeconds?: number;
  readonly timeoutMs?: number;
}

/** A JWT's shape: three base64url parts (the third may be empty, as in an unsigned token). */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*$/.test(value) && value.length <= 16_384;
}

const refused = (message: string) => new UsageError("unauthorized", `oidc: ${message}`);

/**
 * Verifies GitHub Actions ID tokens: RS256 only, the exact issuer and audience, exp/nbf/iat with
 * a small leeway and a maximum age, against the issuer's keys. The keys come from the JWKS its
 * discovery document (`<issuer>/.well-known/openid-configuration`) names, fetched once and cached
 * by jose (refetched at most every 30 s when a token names an unknown key id, and every 10
 * minutes). Each refusal is a 401 with one line saying why. `jti` is checked by the caller (used
 * once, in the database).
 */
export class OidcVerifier {
  private jwks: Promise<JWTVerifyGetKey> | undefined;
  private readonly leeway: number;
  private readonly maxAge: number;

  constructor(private readonly options: OidcVerifierOptions) {
    this.leeway = options.leewaySeconds ?? 30;
    this.maxAge = options.maxAgeSeconds ?? 900;
  }

  get issuer(): string {
    return this.options.issuer;
  }

  private keys(): Promise<JWTVerifyGetKey> {
    this.jwks ??= this.discover().catch((err) => {
      this.jwks = undefined;
      throw err;
    });
    return this.jwks;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    const issuer = this.options.issuer;
    const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
    let doc: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      doc = (await res.json()) as typeof doc;
    } catch (err) {
      throw new ExternalError(
        "oidc_issuer_unreachable",
        `oidc: the issuer's discovery document ${url} could not be read: ${(err as Error).message}`,
      );
    }
    if (doc.issuer !== issuer || typeof doc.jwks_uri !== "string") {
      throw new ExternalError(
        "oidc_issuer_invalid",
        `oidc: the discovery document of ${issuer} names another issuer or no jwks_uri`,
      );
    }
    return createRemoteJWKSet(new URL(doc.jwks_uri), {
      timeoutDuration: this.options.timeoutMs ?? 5000,
      cooldownDuration: 30_000,
      cacheMaxAge: 600_000,
    });
  }

  /** The token's claims once it verifies; a 401 with the reason otherwise. */
  async verify(token: string): Promise<WorkflowClaims> {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw refused("the bearer is not a well-formed JWT");
    }
    // Said before any key is fetched: only RS256 (GitHub's) is accepted, never HS256 or none.
    if (alg !== "RS256") throw refused(`only RS256 tokens are accepted, not ${JSON.stringify(alg)}`);
    const keys = await this.keys();
    try {
      const { payload } = await jwtVerify(token, keys, {
        algorithms: ["RS256"],
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.leeway,
        maxTokenAge: this.maxAge,
        requiredClaims: ["exp", "iat", "nbf", "jti"],
      });
      const iat = payload.iat!;
      if (iat > Date.now() / 1000 + this.leeway) throw refused("the token was issued in the future (iat)");
      return workflowClaimsOf(payload);
    } catch (err) {
      throw this.reason(err);
    }
  }

  private reason(err: unknown): unknown {
    if (err instanceof UsageError || err instanceof ExternalError) return err;
    if (err instanceof errors.JWTExpired) return refused("the token has expired (exp)");
    if (err instanceof errors.JWTClaimValidationFailed) {
      switch (err.claim) {
        case "iss":
          return refused(`the token's issuer is not ${this.options.issuer}`);
        case "aud":
          return refused(`the token's audience is not ${this.options.audience}`);
        case "nbf":
          return refused("the token is not valid yet (nbf)");
        case "iat":
          return refused(
            `the token was issued too long ago or in the future (iat; at most ${this.maxAge} s)`,
          );
        default:
          return refused(`the token's ${err.claim} claim is missing or invalid`);
      }
    }
    if (err instanceof errors.JOSEAlgNotAllowed) return refused("only RS256 tokens are accepted");
    if (err instanceof errors.JWKSNoMatchingKey)
      return refused("no key of the issuer matches the token's kid");
    if (err instanceof errors.JWSSignatureVerificationFailed)
      return refused("the token's signature does not verify");
    if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
      return new ExternalError(
        "oidc_issuer_unreachable",
        `oidc: the issuer's keys could not be read (${err.code})`,
      );
    }
    if (err instanceof errors.JOSEError) return refused(`the token is invalid (${err.code})`);
    // Anything else came from fetching the issuer's keys (no connection, a bad answer).
    return new ExternalError("oidc_issuer_unreachable", "oidc: the issuer's keys could not be read", {
      cause: err,
    });
  }
}
