import { TokenStore } from "@relctl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, startHarness } from "./support/harness.js";

describe("the HTTP API", () => {
  let h: Harness;
  let authOnly: string;

  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_BODY_LIMIT: "2048", RELCTL_TOKEN_CACHE_MS: "300" } });
    authOnly = (await new TokenStore(h.db.db.sql).createToken({ name: "ci-auth", services: ["auth"] }, ADMIN))
      .secret;
  });
  afterAll(async () => {
    await h?.close();
  });

  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  it("creates a release from the seed's {service, tag}, idempotently", async () => {
    const first = await h.api("POST", "/release", { service: "auth", tag: "v1.0.0" });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      created: true,
      service_name: "auth",
      release_tag: "v1.0.0",
      status: "initiated",
      initiated_by: "token:ci",
    });
    const again = await h.api("POST", "/release", { service: "auth", tag: "v1.0.0" });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ created: false, release_id: first.body.release_id });
  });

  it("replays the first answer for a repeated Idempotency-Key, and refuses the key with another body", async () => {
    const key = { "idempotency-key": "run-42-attempt-1" };
    const first = await h.api("POST", "/release", { service: "auth", tag: "v1.1.0" }, key);
    const replay = await h.api("POST", "/release", { tag: "v1.1.0", service: "auth" }, key);
    expect(first.status).toBe(201);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(first.body);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    const other = await h.api("POST", "/release", { service: "auth", tag: "v1.1.1" }, key);
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ error: { code: "idempotency_mismatch" } });
    const rows = await h.db.db.sql`SELECT count(*)::int AS n FROM releases WHERE release_tag = 'v1.1.1'`;
    expect(rows[0]!.n).toBe(0);
  });

  it("moves a release by the seed's {release_id, status}; 409 names both statuses; 404 for an unknown id", async () => {
    const { body } = await h.api("POST", "/release", { service: "auth", tag: "v1.2.0" });
    const ok = await h.api("PATCH", "/release", { release_id: body.release_id, status: "stage_building" });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ status: "stage_building" });
    const illegal = await h.api("PATCH", "/release", { release_id: body.release_id, status: "deployed" });
    expect(illegal.status).toBe(409);
    expect(illegal.body).toMatchObject({
      error: { code: "illegal_transition", from: "stage_building", to: "deployed" },
    });
    const missing = await h.api("PATCH", "/release", { release_id: 999999, status: "stage_building" });
    expect(missing.status).toBe(404);
    const view = await h.api("GET", `/release/${body.release_id}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      status: "stage_building",
      approvals: [{ role: "qa", state: "waiting" }, { role: "devops" }, { role: "lead" }],
    });
    expect((await h.api("GET", "/release/424242")).status).toBe(404);
  });

  it("replays a PATCH /release repeated with its Idempotency-Key instead of moving the release again", async () => {
    const { body } = await h.api("POST", "/release", { service: "auth", tag: "v1.3.0" });
    const key = { "idempotency-key": "patch-run-7" };
    const move = { release_id: body.release_id, status: "stage_building" };
    const first = await h.api("PATCH", "/release", move, key);
    expect(first.status).toBe(200);
    const replay = await h.api("PATCH", "/release", move, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.body).toEqual(first.body);
    const rows = await h.db.db.sql`
      SELECT count(*)::int AS n FROM audit_events WHERE release_id = ${Number(body.release_id)} AND action = 'release.status'`;
    expect(rows[0]!.n).toBe(1);
    // A key is its route's: the POST's body under the PATCH's key is another request.
    const other = await h.api("POST", "/release", { service: "auth", tag: "v1.3.1" }, key);
    expect(other.status).toBe(422);
  });

  it("answers 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ service: "auth" }, "tag: expected string, received undefined"],
      [{ service: "auth", tag: 7 }, "tag: expected string, received number"],
      [{ service: "Auth!", tag: "v1" }, 'service: "Auth!" is not a valid service name'],
      [{ service: "auth", tag: "v1; rm -rf /" }, 'tag: "v1; rm -rf /" is not an allowed tag'],
      [{ service: "auth", tag: "v1", colour: "red" }, "colour: unknown field"],
    ];
    for (const [body, message] of cases) {
      const res = await h.api("POST", "/release", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(String((res.body.error as { message: string }).message)).toContain(message);
    }
    const badStatus = await h.api("PATCH", "/release", { release_id: 1, status: "done" });
    expect(badStatus.status).toBe(400);
    expect(badStatus.body).toMatchObject({ error: { code: "invalid_status" } });
    const notJson = await h.api("POST", "/release", "{not json");
    expect(notJson.status).toBe(400);
  });

  it("limits the body size", async () => {
    const res = await h.api("POST", "/release", { service: "auth", tag: "v1", github_ref: "x".repeat(4000) });
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ error: { code: "payload_too_large" } });
  });

  it("needs a valid bearer token scoped to the service", async () => {
    expect(
      (await h.api("POST", "/release", { service: "auth", tag: "v2" }, { authorization: "" })).status,
    ).toBe(401);
    expect((await h.api("GET", "/releases", undefined, as(`rlc_${"A".repeat(43)}`))).status).toBe(401);
    const forbidden = await h.api("POST", "/release", { service: "billing", tag: "v1.0.0" }, as(authOnly));
    expect(forbidden.status).toBe(403);
    expect((await h.api("POST", "/release", { service: "auth", tag: "v2.0.0" }, as(authOnly))).status).toBe(
      201,
    );
    const billing = await h.api("POST", "/release", { service: "billing", tag: "v1.0.0" });
    expect((await h.api("GET", `/release/${billing.body.release_id}`, undefined, as(authOnly))).status).toBe(
      403,
    );
    const listed = await h.api("GET", "/releases?state=active", undefined, as(authOnly));
    const services = new Set((listed.body.releases as { service_name: string }[]).map((r) => r.service_name));
    expect([...services]).toEqual(["auth"]);
    expect(
      (await h.api("POST", "/alerts", { version: "4", status: "firing", alerts: [] }, as(authOnly))).status,
    ).toBe(403);
    const [row] = await h.db.db.sql`SELECT token_hash FROM api_tokens WHERE name = 'ci-auth'`;
    expect(row!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.token_hash).not.toContain(authOnly);
  });

  it("stops a revoked token", async () => {
    const tokens = new TokenStore(h.db.db.sql);
    const { secret } = await tokens.createToken({ name: "short-lived", services: ["auth"] }, ADMIN);
    expect((await h.api("GET", "/releases", undefined, as(secret))).status).toBe(200);
    await tokens.revokeToken("short-lived", ADMIN);
    // Verified tokens are remembered for RELCTL_TOKEN_CACHE_MS (300 ms here; 5 s by default).
    await new Promise((r) => setTimeout(r, 400));
    expect((await h.api("GET", "/releases", undefined, as(secret))).status).toBe(401);
  });

  it("reports health and Prometheus metrics without a token", async () => {
    const health = await h.api("GET", "/health", undefined, { authorization: "" });
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({
      status: "ok",
      database: { ok: true, schema_version: expect.any(Number) },
    });
    const metrics = await fetch(`${h.service.url}/metrics`);
    const text = await metrics.text();
    expect(metrics.headers.get("content-type")).toContain("text/plain");
    expect(text).toMatch(/relctl_http_requests_total\{method="POST",route="\/release",status="201"\} \d+/);
    expect(text).toMatch(/relctl_http_request_duration_seconds_bucket\{le="0.025",route="\/release"\} \d+/);
    expect(text).toMatch(/relctl_releases\{service="[^"]+",status="initiated"\} \d+/);
  });
});

describe("the IP allow-list", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_ALLOWED_IPS: "10.0.0.0/8,192.168.1.7" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("refuses API calls from an address not on it, but not the health check", async () => {
    const res = await h.api("POST", "/release", { service: "auth", tag: "v1" });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: "ip_not_allowed" } });
    expect((await h.api("GET", "/health")).status).toBe(200);
  });
});
