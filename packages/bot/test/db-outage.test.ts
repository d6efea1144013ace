// The approvals service through a PostgreSQL outage, on a PostgreSQL server of the test's own
// (never the machine's): every API request answers 503 with Retry-After within 2 s while the
// server is down, 2xx within 2 s once it is back, and a POST retried with its Idempotency-Key
// applies once, whatever its first answer said.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type PostgresInstance, startPostgresInstance } from "@relctl/testkit";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type ApprovalsService, createLogger, loadBotSettings, startApprovalsService } from "../src/index.js";
import { ADMIN } from "./support/harness.js";
import { startTcpLink } from "./support/tcp-link.js";

const GOAL_MS = 2000;

interface Timed {
  readonly name: string;
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
  readonly replayed: string | null;
  readonly body: Record<string, unknown>;
}

describe("a PostgreSQL outage", () => {
  let pg: PostgresInstance;
  let service: ApprovalsService;
  let admin: Sql;
  let cwd: string;
  let token: string;
  let coldToken: string;
  const logs: string[] = [];

  /** The service on `databaseUrl`, with a long token cache (see beforeAll). */
  async function startService(databaseUrl: string): Promise<ApprovalsService> {
    const env = { DATABASE_URL: databaseUrl, RELCTL_HTTP_HOST: "127.0.0.1", RELCTL_TOKEN_CACHE_MS: "300000" };
    const settings = loadBotSettings(env);
    return startApprovalsService({
      settings,
      env,
      cwd,
      port: 0,
      workers: false,
      logger: createLogger({ secrets: settings.secrets, write: (l) => logs.push(l) }),
    });
  }

  beforeAll(async () => {
    pg = await startPostgresInstance();
    cwd = mkdtempSync(join(tmpdir(), "relctl-outage-"));
    // A long token cache: the requests below reach their handlers (and their transactions) with
    // the database down; `coldToken`, never seen before the outage, is checked against it.
    service = await startService(pg.url);
    token = (await service.deps.tokens.createToken({ name: "ci", services: ["*"] }, ADMIN)).secret;
    coldToken = (await service.deps.tokens.createToken({ name: "cold", services: ["*"] }, ADMIN)).secret;
    admin = postgres(pg.url, { max: 2, onnotice: () => {} });
  });
  // A test that failed with PostgreSQL stopped must not fail the next ones.
  beforeEach(async () => {
    if (!pg.running()) await pg.start();
  });
  afterAll(async () => {
    await service?.close();
    await admin?.end({ timeout: 1 });
    await pg?.destroy();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  async function call(
    name: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
    bearer = token,
    base = service.url,
  ): Promise<Timed> {
    const started = performance.now();
    try {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${bearer}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        // Far above the goal: a request that hangs is measured, not waited for forever.
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      return {
        name,
        status: res.status,
        ms: Math.round(performance.now() - started),
        retryAfter: res.headers.get("retry-after"),
        replayed: res.headers.get("idempotent-replayed"),
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      };
    } catch (err) {
      const ms = Math.round(performance.now() - started);
      return { name, status: 0, ms, retryAfter: null, replayed: null, body: { failed: String(err) } };
    }
  }

  /** Polls (at most 10 s, 200 times) until `request` answers 2xx: the milliseconds it took, or Infinity. */
  async function msToFirst2xx(request: () => Promise<Timed>): Promise<number> {
    const started = performance.now();
    for (let i = 0; i < 200 && performance.now() - started < 10_000; i++) {
      const r = await request();
      if (r.status >= 200 && r.status < 300) return Math.round(performance.now() - started);
      await new Promise((res) => setTimeout(res, 25));
    }
    return Number.POSITIVE_INFINITY;
  }

  const releasesTagged = async (tag: string) =>
    Number((await admin`SELECT count(*)::int AS n FROM releases WHERE release_tag = ${tag}`)[0]!.n);

  it("answers every request 503 with Retry-After within 2 s while PostgreSQL is down, and 2xx within 2 s once it is back", async () => {
    const created = await call("warm-up", "POST", "/release", { service: "outage", tag: "v1.0.0" });
    expect(created.status).toBe(201);
    const releaseId = Number(created.body.release_id);
    expect((await call("health", "GET", "/health")).status).toBe(200);

    await pg.stop();
    const key = { "idempotency-key": "outage-run-1" };
    const v2 = { service: "outage", tag: "v2.0.0" };
    const down: Timed[] = [];
    // Four rounds: a client polling through the outage must not be slowed by earlier failures.
    for (let round = 1; round <= 4; round++) {
      down.push(await call(`POST /release #${round}`, "POST", "/release", v2, key));
      down.push(
        await call(`PATCH /release #${round}`, "PATCH", "/release", {
          release_id: releaseId,
          status: "stage_building",
        }),
      );
      down.push(await call(`GET /releases #${round}`, "GET", "/releases"));
      down.push(await call(`GET /health #${round}`, "GET", "/health"));
      down.push(
        await call(`GET /releases, cold token #${round}`, "GET", "/releases", undefined, {}, coldToken),
      );
    }
    console.log(
      `during the outage: ${down.map((r) => `${r.name} ${r.status} ${r.ms} ms`).join("; ")}; max ${Math.max(...down.map((r) => r.ms))} ms`,
    );
    for (const r of down) {
      expect(r.status, `${r.name}: ${JSON.stringify(r.body)}`).toBe(503);
      expect(r.retryAfter, `${r.name}: Retry-After`).toMatch(/^\d+$/);
      expect(r.ms, `${r.name} took ${r.ms} ms`).toBeLessThan(GOAL_MS);
    }
    const post = down[0]!;
    expect(post.body).toMatchObject({ error: { code: "db_unavailable", kind: "external" } });
    expect(String((post.body.error as { hint?: string }).hint)).toMatch(
      /POST is safe to retry only with its Idempotency-Key/,
    );
    expect(down[3]!.body).toMatchObject({ status: "unavailable", database: { ok: false } });

    await pg.start();
    const recoveredMs = await msToFirst2xx(() => call("GET /releases", "GET", "/releases"));
    console.log(`first 2xx ${recoveredMs} ms after PostgreSQL was back`);
    expect(recoveredMs).toBeLessThan(GOAL_MS);
    expect((await call("health", "GET", "/health")).status).toBe(200);

    // The POST sent during the outage, retried with its key: one release.
    const retried = await call("POST /release retried", "POST", "/release", v2, key);
    expect(retried.status).toBe(201);
    const again = await call("POST /release again", "POST", "/release", v2, key);
    expect(again.status).toBe(201);
    expect(again.replayed).toBe("true");
    expect(again.body.release_id).toBe(retried.body.release_id);
    expect(await releasesTagged("v2.0.0")).toBe(1);
  });

  it("answers a write whose COMMIT outlives the deadline 'outcome unknown'; its key's retry replays the one release", async () => {
    // A commit that takes 3 s: a deferred trigger sleeps at COMMIT for this tag only.
    await admin.unsafe(`
      CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$;
      CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON releases DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.release_tag = 'v3.0.0-slow') EXECUTE FUNCTION slow_commit();`);
    const key = { "idempotency-key": "slow-commit-1" };
    const body = { service: "outage", tag: "v3.0.0-slow" };
    const first = await call("POST /release, slow commit", "POST", "/release", body, key);
    expect(first.status, JSON.stringify(first.body)).toBe(503);
    expect(first.ms).toBeLessThan(GOAL_MS);
    expect(first.retryAfter).toMatch(/^\d+$/);
    expect(first.body).toMatchObject({ error: { code: "outcome_unknown" } });
    expect(String((first.body.error as { hint?: string }).hint)).toMatch(/same Idempotency-Key/);

    let replay: Timed | undefined;
    const started = performance.now();
    for (let i = 0; i < 40 && performance.now() - started < 15_000; i++) {
      const r = await call("POST /release, retried", "POST", "/release", body, key);
      if (r.status === 201) {
        replay = r;
        break;
      }
      expect(r.status, JSON.stringify(r.body)).toBe(503);
      await new Promise((res) => setTimeout(res, 250));
    }
    expect(replay?.replayed).toBe("true");
    expect(replay?.body).toMatchObject({ created: true, release_tag: "v3.0.0-slow" });
    expect(await releasesTagged("v3.0.0-slow")).toBe(1);
  });

  it("rolls back a write still waiting at the deadline, and says it was not applied", async () => {
    const created = await call("POST /release", "POST", "/release", { service: "outage", tag: "v4.0.0" });
    expect(created.status).toBe(201);
    const id = Number(created.body.release_id);
    // Another session holds the release's row lock past the deadline.
    let unlock!: () => void;
    const held = new Promise<void>((r) => {
      unlock = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = admin.begin(async (tx) => {
      await tx`SELECT id FROM releases WHERE id = ${id} FOR UPDATE`;
      locked();
      await held;
    });
    await Promise.race([isLocked, holder]);
    const moved = await call("PATCH /release, row locked", "PATCH", "/release", {
      release_id: id,
      status: "stage_building",
    });
    unlock();
    await holder;
    expect(moved.status, JSON.stringify(moved.body)).toBe(503);
    expect(moved.ms).toBeLessThan(GOAL_MS);
    expect(moved.retryAfter).toMatch(/^\d+$/);
    expect(moved.body).toMatchObject({ error: { code: "deadline_exceeded" } });
    // The transaction went on once the lock was free, and rolled back at the deadline's gate.
    await new Promise((r) => setTimeout(r, 500));
    const [row] = await admin`SELECT status::text AS s FROM releases WHERE id = ${id}`;
    expect(row!.s).toBe("initiated");
    const [audit] = await admin`
      SELECT count(*)::int AS n FROM audit_events WHERE release_id = ${id} AND action = 'release.status'`;
    expect(audit!.n).toBe(0);
  });

  it("answers 503 within 2 s while the database accepts connections but never answers (a partition), and 2xx within 2 s once it answers again", async () => {
    const link = await startTcpLink(pg.port);
    const cut = await startService(`postgres://postgres@127.0.0.1:${link.port}/postgres`);
    try {
      const at = (
        name: string,
        method: string,
        path: string,
        body?: unknown,
        headers?: Record<string, string>,
      ) => call(name, method, path, body, headers, token, cut.url);
      const created = await at("warm-up", "POST", "/release", { service: "partition", tag: "v1.0.0" });
      expect(created.status).toBe(201);
      link.partition();
      const key = { "idempotency-key": "partition-1" };
      const body = { service: "partition", tag: "p2.0.0" };
      const down = [
        await at("POST /release", "POST", "/release", body, key),
        await at("PATCH /release", "PATCH", "/release", {
          release_id: created.body.release_id,
          status: "stage_building",
        }),
        await at("GET /releases", "GET", "/releases"),
        await at("GET /health", "GET", "/health"),
      ];
      console.log(`during the partition: ${down.map((r) => `${r.name} ${r.status} ${r.ms} ms`).join("; ")}`);
      for (const r of down) {
        expect(r.status, `${r.name}: ${JSON.stringify(r.body)}`).toBe(503);
        expect(r.retryAfter, `${r.name}: Retry-After`).toMatch(/^\d+$/);
        expect(r.ms, `${r.name} took ${r.ms} ms`).toBeLessThan(GOAL_MS);
      }
      // Sent with a key, the POST is told to retry with it; the PATCH, rolled back, that it changed nothing.
      expect(down[0]!.body).toMatchObject({ error: { code: "outcome_unknown" } });
      expect(down[1]!.body).toMatchObject({ error: { code: "deadline_exceeded" } });
      expect(down[3]!.body).toMatchObject({ database: { ok: false } });

      link.heal();
      const recoveredMs = await msToFirst2xx(() => at("GET /releases", "GET", "/releases"));
      console.log(`first 2xx ${recoveredMs} ms after the partition healed`);
      expect(recoveredMs).toBeLessThan(GOAL_MS);
      const retried = await at("POST /release retried", "POST", "/release", body, key);
      expect(retried.status, JSON.stringify(retried.body)).toBe(201);
      expect(await releasesTagged("p2.0.0")).toBe(1);
      const [row] =
        await admin`SELECT status::text AS s FROM releases WHERE id = ${Number(created.body.release_id)}`;
      expect(row!.s).toBe("initiated");
    } finally {
      link.heal();
      await cut.close();
      await link.close();
    }
  });
});
