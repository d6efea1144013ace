// The audit chain under the API's writes (migration 16): concurrent POST/PATCH /release do not
// wait for each other on the chain's lock, every event ends up linked, and the chain verifies.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TokenStore, verifyAuditChain } from "@relctl/core";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApprovalsService, createLogger, loadBotSettings, startApprovalsService } from "../src/index.js";
import { ADMIN } from "./support/harness.js";

/** migration 14's AUDIT_CHAIN_LOCK */
const CHAIN_LOCK = 7215002;

describe("the audit chain under concurrent API writes", () => {
  let db: TestDatabase;
  let service: ApprovalsService;
  let cwd: string;
  let token: string;
  let n = 0;

  beforeAll(async () => {
    db = await createPostgresTestDatabase("relctl_api_chain");
    cwd = mkdtempSync(join(tmpdir(), "relctl-api-chain-"));
    const env = { DATABASE_URL: db.url!, RELCTL_HTTP_HOST: "127.0.0.1", RELCTL_RATE_LIMIT: "0" };
    const settings = loadBotSettings(env);
    service = await startApprovalsService({
      settings,
      env,
      cwd,
      port: 0,
      workers: false,
      logger: createLogger({ secrets: settings.secrets, write: () => {} }),
    });
    token = (await new TokenStore(db.db.sql).createToken({ name: "ci", services: ["*"] }, ADMIN)).secret;
  });
  afterAll(async () => {
    await service?.close();
    await db?.drop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  async function call(method: string, body: unknown, key?: string) {
    const res = await fetch(`${service.url}/release`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        ...(key ? { "idempotency-key": key } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function createAndMove(keyed: boolean): Promise<string> {
    const i = ++n;
    const tag = `v2.0.${i}`;
    const created = await call("POST", { service: "auth", tag }, keyed ? `c-${i}` : undefined);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const moved = await call(
      "PATCH",
      { release_id: created.body.release_id, status: "stage_building" },
      keyed ? `m-${i}` : undefined,
    );
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    return tag;
  }

  const counts = async () => {
    const [row] = await db.db.sql`SELECT (SELECT count(*)::int FROM audit_events) AS events,
      (SELECT count(*)::int FROM audit_chain) AS links, (SELECT count(*)::int FROM audit_chain_pending) AS queued`;
    return row as unknown as { events: number; links: number; queued: number };
  };

  async function untilLinked(ms = 5000) {
    const until = Date.now() + ms;
    for (;;) {
      const c = await counts();
      if (c.queued === 0 && c.links === c.events) return c;
      if (Date.now() > until) return c;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("links every event of 24 clients writing at once; the chain verifies", async () => {
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        for (let j = 0; j < 4; j++) await createAndMove(i % 2 === 0);
      }),
    );
    const c = await untilLinked();
    expect(c).toMatchObject({ queued: 0, links: c.events });
    expect(c.events).toBeGreaterThanOrEqual(24 * 4 * 2);
    const report = await verifyAuditChain(db.db.sql);
    expect(report.broken).toEqual([]);
    expect(report).toMatchObject({ ok: true, links: c.events, pending: 0 });
  });

  it("answers a write while the chain's lock is held elsewhere; its event is queued, then linked", async () => {
    expect(await untilLinked()).toMatchObject({ queued: 0 });
    // Another transaction holds the chain's lock (as one that is linking while it commits would).
    const holder = await db.db.sql.reserve();
    let open = false;
    try {
      await holder`BEGIN`;
      open = true;
      await holder`SELECT pg_advisory_xact_lock(${CHAIN_LOCK})`;
      const started = performance.now();
      const tag = await createAndMove(true);
      // Neither write waited for the lock: both are committed and answered, their events queued.
      expect(performance.now() - started).toBeLessThan(5000);
      const queued = await counts();
      expect(queued.queued).toBe(2);
      expect(queued.links).toBe(queued.events - 2);
      const [stored] = await db.db.sql`SELECT count(*)::int AS n FROM releases WHERE release_tag = ${tag}`;
      expect(stored!.n).toBe(1);
      await holder`COMMIT`;
      open = false;
    } finally {
      if (open) await holder`ROLLBACK`;
      holder.release();
    }
    // The service links the queue shortly after its writes, without another write.
    const c = await untilLinked();
    expect(c).toMatchObject({ queued: 0, links: c.events });
    expect(await verifyAuditChain(db.db.sql)).toMatchObject({ ok: true, links: c.events, pending: 0 });
  });
});
