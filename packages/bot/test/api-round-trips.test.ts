// Database round trips per API write, counted on the wire: a relay between the service and
// PostgreSQL counts each time the service sends after having heard back (pipelined statements
// count once). POST /release and PATCH /release take at most two, token check included.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TokenStore } from "@relctl/core";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApprovalsService, createLogger, loadBotSettings, startApprovalsService } from "../src/index.js";
import { ADMIN } from "./support/harness.js";
import { type RoundTripCounter, startRoundTripCounter } from "./support/round-trip-counter.js";

describe("database round trips per API write", () => {
  let db: TestDatabase;
  let relay: RoundTripCounter;
  let service: ApprovalsService;
  let cwd: string;
  let token: string;
  let n = 0;

  beforeAll(async () => {
    db = await createPostgresTestDatabase("relctl_trips");
    relay = await startRoundTripCounter(Number(new URL(db.url!).port || 5432));
    const url = new URL(db.url!);
    url.host = `127.0.0.1:${relay.port}`;
    cwd = mkdtempSync(join(tmpdir(), "relctl-trips-"));
    const env = { DATABASE_URL: url.toString(), RELCTL_HTTP_HOST: "127.0.0.1" };
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
    await relay?.close();
    await db?.drop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  async function call(method: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${service.url}/release`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** A create and a move, with Idempotency-Keys when `keyed`; the round trips of each. */
  async function writes(keyed: boolean) {
    const tag = `v1.0.${++n}`;
    const key = (k: string): Record<string, string> => (keyed ? { "idempotency-key": `${k}-${n}` } : {});
    relay.reset();
    const created = await call("POST", { service: "auth", tag }, key("post"));
    const postTrips = relay.count();
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    relay.reset();
    const moved = await call(
      "PATCH",
      { release_id: created.body.release_id, status: "stage_building" },
      key("patch"),
    );
    const patchTrips = relay.count();
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    return { postTrips, patchTrips };
  }

  it("takes at most 2 for POST /release and PATCH /release, with or without an Idempotency-Key", async () => {
    // Warm-up: the service's connections learn the statements (prepared once per connection).
    for (let i = 0; i < 3; i++) {
      await writes(false);
      await writes(true);
    }
    const plain = await writes(false);
    const keyed = await writes(true);
    console.log(`round trips: without a key ${JSON.stringify(plain)}; with a key ${JSON.stringify(keyed)}`);
    expect(plain.postTrips).toBeLessThanOrEqual(2);
    expect(plain.patchTrips).toBeLessThanOrEqual(2);
    expect(keyed.postTrips).toBeLessThanOrEqual(2);
    expect(keyed.patchTrips).toBeLessThanOrEqual(2);
  });

  it("answers a replayed Idempotency-Key and a first-seen token in at most 2", async () => {
    const body = { service: "auth", tag: "v9.0.0" };
    const first = await call("POST", body, { "idempotency-key": "replay-1" });
    relay.reset();
    const replay = await call("POST", body, { "idempotency-key": "replay-1" });
    expect(relay.count()).toBeLessThanOrEqual(2);
    expect(replay.body).toEqual(first.body);
    const fresh = (await new TokenStore(db.db.sql).createToken({ name: "fresh", services: ["*"] }, ADMIN))
      .secret;
    relay.reset();
    const res = await fetch(`${service.url}/release`, {
      method: "POST",
      headers: { authorization: `Bearer ${fresh}`, "content-type": "application/json" },
      body: JSON.stringify({ service: "auth", tag: "v9.1.0" }),
    });
    expect(res.status).toBe(201);
    expect(relay.count()).toBeLessThanOrEqual(2);
  });

  it("creates one release, with one audit event, when 12 workflows POST the same new tag at once", async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => call("POST", { service: "auth", tag: "v7.0.0" })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(11);
    expect(new Set(answers.map((a) => a.body.release_id)).size).toBe(1);
    const id = Number(answers[0]!.body.release_id);
    const [audit] = await db.db.sql`
      SELECT count(*)::int AS n FROM audit_events WHERE release_id = ${id} AND action = 'release.create'`;
    expect(audit!.n).toBe(1);
    // The answer is the row as stored.
    const [row] = await db.db.sql`SELECT * FROM releases WHERE id = ${id}`;
    const created = answers.find((a) => a.status === 201)!.body;
    expect(created).toMatchObject({ release_tag: "v7.0.0", status: "initiated", attempt: row!.attempt });
    expect(created.created_at).toBe((row!.created_at as Date).toISOString());
  });
});
