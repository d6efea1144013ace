import { RunStore, TokenStore } from "@relctl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./support/harness.js";
import { seedDeployed } from "./support/seed-releases.js";

const ADMIN = { user: "admin", channel: "cli" } as const;

/** GET /report: the report's page and JSON, behind the read routes' bearer token. */
describe("GET /report", () => {
  let h: Harness;
  let webOnly: string;

  beforeAll(async () => {
    h = await startHarness();
    const runs = new RunStore(h.db.db.sql);
    for (const [service, tag] of [
      ["auth", "v1"],
      ["web", "v1"],
    ] as const) {
      const id = await seedDeployed(h.service.deps.store, service, tag);
      const run = await runs.createRun({
        kind: "deploy",
        service,
        environment: "production",
        releaseId: id,
        tag,
        fromTag: null,
        actor: { user: "deployer", channel: "system" },
        gated: true,
      });
      await runs.finishRun(run.id, "succeeded");
    }
    ({ secret: webOnly } = await new TokenStore(h.db.db.sql).createToken(
      { name: "ci-web", services: ["web"] },
      ADMIN,
    ));
  });
  afterAll(async () => {
    await h?.close();
  });

  it("wants a token, like GET /releases", async () => {
    const res = await h.api("GET", "/report", undefined, { authorization: "" });
    expect(res.status).toBe(401);
  });

  it("serves the self-contained page with its charts", async () => {
    const res = await h.api("GET", "/report");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = String(res.body.text);
    expect(html).toContain('<canvas id="chart-deploys"');
    expect(html).toContain("Chart.js v4");
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
  });

  it("gives the JSON with ?format=json, per service", async () => {
    const res = await h.api("GET", "/report?format=json&since=7d");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      service: null,
      deploys: { count: 2 },
      dora: { changes: 2, failed_changes: 0 },
    });
    expect((res.body.services as { service: string }[]).map((s) => s.service)).toEqual(["auth", "web"]);
  });

  it("shows a service-scoped token its services only", async () => {
    const auth = { authorization: `Bearer ${webOnly}` };
    const mine = await h.api("GET", "/report?format=json", undefined, auth);
    expect(mine.status).toBe(200);
    expect((mine.body.services as { service: string }[]).map((s) => s.service)).toEqual(["web"]);
    expect(mine.body).toMatchObject({ deploys: { count: 1 } });
    const other = await h.api("GET", "/report?service=auth", undefined, auth);
    expect(other.status).toBe(403);
  });

  it("refuses a bad period or interval", async () => {
    expect((await h.api("GET", "/report?since=soon")).status).toBe(400);
    expect((await h.api("GET", "/report?interval=year")).status).toBe(400);
  });
});
