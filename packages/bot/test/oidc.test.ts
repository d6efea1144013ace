import { OidcStore, TokenStore } from "@relctl/core";
import type { MintOptions } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, startHarness } from "./support/harness.js";

/**
 * Workflows prove who they are with GitHub OIDC ID tokens: the emulator is the issuer, the
 * service verifies each token and authorizes it by the service's claims policy.
 */
describe("GitHub OIDC ID tokens on the HTTP API", () => {
  let h: Harness;
  const workflow = "acme/hello/.github/workflows/release.yml@refs/tags/*";

  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_OIDC_AUDIENCE: "https://relctl.example" } });
    await new OidcStore(h.db.db.sql).allow(
      { service: "hello", repositoryId: "4242", ownerId: "77", workflow },
      ADMIN,
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  const mint = (options: MintOptions = {}) =>
    h.github.oidc.mint({ audience: "https://relctl.example", ...options });
  const call = async (method: string, path: string, token: string, body?: unknown) =>
    h.api(method, path, body, { authorization: `Bearer ${token}` });
  const create = async (options: MintOptions = {}, tag = "v1.0.0") =>
    call("POST", "/release", await mint(options), { service: "hello", tag });

  it("accepts a token from the allowed repository, owner and workflow, run on the release's tag", async () => {
    const created = await create();
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The release is initiated by the GitHub login the token names (proven by GitHub).
    expect(created.body).toMatchObject({
      service_name: "hello",
      release_tag: "v1.0.0",
      initiated_by: "octocat",
    });
    const id = created.body.release_id as number;
    const moved = await call("PATCH", "/release", await mint(), { release_id: id, status: "stage_building" });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const read = await call("GET", `/release/${id}`, await mint());
    expect(read.status).toBe(200);
    const listed = await call("GET", "/releases?service=hello", await mint());
    expect(listed.status).toBe(200);
    expect((listed.body.releases as unknown[]).length).toBe(1);
    const audit = await h.db.db
      .sql`SELECT actor, channel FROM audit_events WHERE release_id = ${id} ORDER BY id`;
    expect(audit.map((e) => `${e.channel}:${e.actor}`)).toEqual(["api:octocat", "api:octocat"]);
  });

  it.each<[string, MintOptions, number, RegExp]>([
    [
      "another repository",
      { claims: { repository: "evil/hello", repository_id: "9999" } },
      403,
      /oidc: the repository evil\/hello \(id 9999\) is not allowed for the service hello/,
    ],
    [
      "another owner",
      { claims: { repository_owner: "evil", repository_owner_id: "666" } },
      403,
      /oidc: the owner evil \(id 666\) is not the owner allowed for the service hello/,
    ],
    [
      "another workflow",
      { claims: { job_workflow_ref: "acme/hello/.github/workflows/debug.yml@refs/heads/main" } },
      403,
      /oidc: the workflow acme\/hello\/\.github\/workflows\/debug\.yml@refs\/heads\/main is not allowed/,
    ],
    [
      "another ref",
      {
        claims: {
          ref: "refs/tags/v9.9.9",
          job_workflow_ref: "acme/hello/.github/workflows/release.yml@refs/tags/v9.9.9",
        },
      },
      403,
      /oidc: the job ran on refs\/tags\/v9\.9\.9, not on refs\/tags\/v1\.0\.0/,
    ],
    [
      "an expired one",
      { issuedAt: -400, notBefore: -405, expiresIn: -100 },
      401,
      /oidc: the token has expired/,
    ],
    ["one not valid yet", { notBefore: 120 }, 401, /oidc: the token is not valid yet \(nbf\)/],
    ["a wrong audience", { audience: "https://other.example" }, 401, /oidc: the token's audience is not/],
    ["another issuer", { issuer: "https://token.example" }, 401, /oidc: the token's issuer is not/],
    ["an HS256 one", { sign: "HS256" }, 401, /oidc: only RS256 tokens are accepted, not "HS256"/],
    ["an unsigned one (alg none)", { sign: "none" }, 401, /oidc: only RS256 tokens are accepted, not "none"/],
    [
      "one signed with another key",
      { sign: "foreign-key" },
      401,
      /oidc: the token's signature does not verify/,
    ],
  ])("refuses %s with a one-line reason", async (_what, options, status, reason) => {
    const r = await create(options);
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    const message = (r.body.error as { message: string }).message;
    expect(message).toMatch(reason);
    expect(message).not.toContain("\n");
  });

  it("refuses a replayed token (the same jti), even after it was refused once", async () => {
    const token = await mint({ claims: { ref: "refs/tags/v1.1.0" } });
    const first = await call("POST", "/release", token, { service: "hello", tag: "v1.2.0" });
    expect(first.status).toBe(403);
    const again = await call("POST", "/release", token, { service: "hello", tag: "v1.1.0" });
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({
      error: { message: expect.stringMatching(/oidc: the token was used before/) },
    });
    const fresh = await mint({ jti: "fixed-jti-1", claims: { ref: "refs/tags/v1.1.0" } });
    const used = await call("GET", "/releases?service=hello", fresh);
    expect(used.status).toBe(200);
    const replay = await call("GET", "/releases?service=hello", await mint({ jti: "fixed-jti-1" }));
    expect(replay.status).toBe(401);
  });

  it("gives a workflow the workflow role only: no approvals, no alerts, no other service, no Idempotency-Key", async () => {
    const approve = await call("POST", "/release/1/approve", await mint(), {});
    expect(approve.status).toBe(403);
    expect(approve.body).toMatchObject({
      error: { message: expect.stringMatching(/is a workflow \(OIDC\)/) },
    });
    const alerts = await call("POST", "/alerts", await mint(), { alerts: [] });
    expect(alerts.status).toBe(403);
    const other = await call("POST", "/release", await mint(), { service: "auth", tag: "v1.0.0" });
    expect(other.status).toBe(403);
    expect(other.body).toMatchObject({
      error: { message: expect.stringMatching(/no workflow is allowed for the service auth/) },
    });
    const keyed = await h.api(
      "POST",
      "/release",
      { service: "hello", tag: "v1.0.0" },
      { authorization: `Bearer ${await mint()}`, "idempotency-key": "k1" },
    );
    expect(keyed.status).toBe(400);
  });

  it("logs and counts every refusal with its reason, never the token", async () => {
    const token = await mint({ audience: "nope" });
    await call("GET", "/releases", token);
    const line = h.logs.findLast((l) => l.includes("http request refused") && l.includes("audience"));
    expect(line).toBeDefined();
    expect(line).not.toContain(token);
    const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
    expect(metrics).toMatch(/relctl_http_refusals_total\{code="unauthorized",status="401"\} \d+/);
    expect(metrics).toMatch(/relctl_http_refusals_total\{code="forbidden",status="403"\} \d+/);
  });

  it("keeps API tokens working beside ID tokens, and prunes used jtis once their tokens expired", async () => {
    const { secret } = await new TokenStore(h.db.db.sql).createToken(
      { name: "ci-hello", services: ["hello"] },
      ADMIN,
    );
    const r = await call("GET", "/releases?service=hello", secret);
    expect(r.status).toBe(200);
    await h.db.db
      .sql`INSERT INTO oidc_token_uses (issuer, jti, expires_at) VALUES ('x', 'old', now() - interval '1 hour')`;
    expect(await new OidcStore(h.db.db.sql).pruneUsedTokens()).toBeGreaterThanOrEqual(1);
    const [left] = await h.db.db.sql`SELECT count(*)::int AS n FROM oidc_token_uses WHERE jti = 'old'`;
    expect(left!.n).toBe(0);
  });
});
