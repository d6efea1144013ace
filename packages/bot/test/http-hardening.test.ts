import { afterAll, beforeAll, expect, it } from "vitest";
import { type Harness, startHarness, WEBHOOK_SECRET } from "./support/harness.js";

/** What an outsider with a wrong token, a bad body or another machine's address gets. */
let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

it("answers a Telegram webhook body that is not an update 400, naming the field, and logs no error", async () => {
  for (const body of ["null", "[]", '{"message":{}}', '"x"']) {
    const res = await fetch(`${h.service.url}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
      body,
    });
    expect(res.status, body).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(
      /^body: .*update_id/,
    );
  }
  expect(h.logs.filter((l) => l.includes('"level":"error"'))).toEqual([]);
});

it("logs every refused call — route, address, code — and never the token", async () => {
  const wrong = "relctl_wrongtokenwrongtokenwrongtoken";
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`${h.service.url}/releases`, {
      headers: { authorization: `Bearer ${wrong}${i}` },
    });
    expect(res.status).toBe(401);
  }
  const refused = h.logs.filter((l) => l.includes("http request refused"));
  expect(refused).toHaveLength(5);
  for (const line of refused) {
    expect(JSON.parse(line)).toMatchObject({ route: "/releases", status: 401, ip: expect.any(String) });
    expect(line).not.toContain(wrong);
  }
  const metrics = await (await fetch(`${h.service.url}/metrics`)).text();
  expect(metrics).toContain(`relctl_http_refusals_total{code="unauthorized",status="401"} 5`);
});

it("serves /metrics to this machine only when no allow-list is set", async () => {
  const local = await h.service.http.inject({ method: "GET", url: "/metrics", remoteAddress: "127.0.0.1" });
  expect(local.statusCode).toBe(200);
  const remote = await h.service.http.inject({ method: "GET", url: "/metrics", remoteAddress: "10.1.2.3" });
  expect(remote.statusCode).toBe(403);
  expect(remote.json()).toMatchObject({ error: { code: "ip_not_allowed" } });
  expect(remote.json().error.message).toContain("RELCTL_ALLOWED_IPS");
});

it("puts /metrics behind RELCTL_METRICS_TOKEN when it is set, from any address", async () => {
  const token = "metrics-secret-0123456789";
  const guarded = await startHarness({ env: { RELCTL_METRICS_TOKEN: token } });
  try {
    const get = (authorization?: string) =>
      guarded.service.http.inject({
        method: "GET",
        url: "/metrics",
        remoteAddress: "10.1.2.3",
        headers: authorization ? { authorization } : {},
      });
    const none = await get();
    expect(none.statusCode).toBe(401);
    expect(none.json().error.message).toContain("RELCTL_METRICS_TOKEN");
    expect((await get(`Bearer ${token}x`)).statusCode).toBe(401);
    const ok = await get(`Bearer ${token}`);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain("relctl_build_info");
  } finally {
    await guarded.close();
  }
  await expect(startHarness({ env: { RELCTL_METRICS_TOKEN: "short" } })).rejects.toThrow(
    "RELCTL_METRICS_TOKEN: expected 16 to 256 printable characters without spaces",
  );
});

it("limits one address to RELCTL_RATE_LIMIT requests a minute, answering 429 with Retry-After", async () => {
  const limited = await startHarness({ env: { RELCTL_RATE_LIMIT: "30" } });
  try {
    const statuses: number[] = [];
    let last: Response | undefined;
    for (let i = 0; i < 35; i++) {
      last = await fetch(`${limited.service.url}/releases`, {
        headers: { authorization: `Bearer ${limited.apiToken}` },
      });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429, 429, 429, 429]);
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await last!.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    // /health stays answered for the load balancer.
    expect((await fetch(`${limited.service.url}/health`)).status).toBe(200);
  } finally {
    await limited.close();
  }
});

it("refuses an address for a minute after RELCTL_AUTH_FAILURE_LIMIT wrong tokens, a right one included", async () => {
  const guarded = await startHarness({ env: { RELCTL_AUTH_FAILURE_LIMIT: "10" } });
  try {
    const wrong = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        fetch(`${guarded.service.url}/releases`, { headers: { authorization: `Bearer relctl_guess${i}` } }),
      ),
    );
    expect(wrong.map((r) => r.status)).toEqual(Array(10).fill(401));
    const next = await fetch(`${guarded.service.url}/releases`, {
      headers: { authorization: `Bearer ${guarded.apiToken}` },
    });
    expect(next.status).toBe(429);
    expect(Number(next.headers.get("retry-after"))).toBeGreaterThan(50);
  } finally {
    await guarded.close();
  }
});
