import { ADMIN_URL, ENGINES, parseCsv, type TestDatabase } from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS } from "../../src/adapters/postgres/migrations.js";
import {
  type Actor,
  AUDIT_EXPORT_COLUMNS,
  auditLinkHash,
  exportAudit,
  onAuditEventQueued,
  openDatabase,
  ReleaseStore,
  runStoreMigrations,
  verifyAudit,
  verifyAuditChain,
} from "../../src/index.js";

const dev: Actor = { user: "dev", channel: "cli", traceId: "0af7651916cd43dd8448eb211c80319c" };

/** The owner's way around the append-only trigger: switch it off, change, switch it back on. */
async function asOwner(sql: postgres.Sql, statement: string) {
  await sql.begin(async (tx) => {
    await tx.unsafe("ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update");
    await tx.unsafe(statement);
    await tx.unsafe("ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update");
  });
}

describe.each(ENGINES)("audit hash chain on %s", (_engine, create) => {
  let t: TestDatabase;
  let store: ReleaseStore;
  let n = 0;

  beforeAll(async () => {
    t = await create();
    store = new ReleaseStore(t.db.sql);
  });
  afterAll(async () => {
    await t?.drop();
  });

  async function someEvents() {
    const { release } = await store.createRelease({ service: `chain-${++n}`, tag: "v1.0.0" }, dev);
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await store.transition(release.id, s, "runbook", dev);
    return release.id;
  }

  it("links every event as it commits; verify recomputes the same hashes the database wrote", async () => {
    await someEvents();
    // Awkward content: quotes, commas, line breaks, ESC, non-ASCII, nesting, numbers, NULL fields.
    await store.appendAudit(t.db.sql, { user: "ünï", channel: "api" }, "odd.text", null, null, {
      reason: 'a "quoted", comma\r\nnew line \u001b[2J — ✓ 日本',
      nested: { b: [1, 2.5, -3e-7, null, true], a: "" },
      "key with space": 1234567890123,
    });
    await store.appendAudit(t.db.sql, { user: "x", channel: "system" }, "empty", null, {}, []);
    // A number JavaScript cannot hold: verify hashes jsonb's own text, never a re-encoding.
    await t.db.sql.unsafe(`INSERT INTO audit_events (actor, channel, action, after)
      VALUES ('x', 'system', 'big.number', '{"n": 12345678901234567890.50, "z": 1e400}')`);
    const report = await verifyAuditChain(t.db.sql);
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
    const [{ n: events }] = (await t.db.sql`SELECT count(*)::int AS n FROM audit_events`) as unknown as [
      { n: number },
    ];
    expect(report.links).toBe(events);
    const links = await t.db
      .sql`SELECT seq::int, event_id::int, prev_hash, hash FROM audit_chain ORDER BY seq`;
    expect(links.map((l) => l.seq)).toEqual(links.map((_, i) => i + 1));
    for (let i = 1; i < links.length; i++) expect(links[i]!.prev_hash).toBe(links[i - 1]!.hash);
    expect(report.head).toEqual({
      seq: links.length,
      eventId: links.at(-1)!.event_id,
      hash: links.at(-1)!.hash,
    });
  });

  it("transactions writing at once form one chain, in commit order", async () => {
    const id = await someEvents();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.db.sql.begin(async (tx) => {
          await store.appendAudit(tx, dev, "burst.a", id, null, { i });
          await store.appendAudit(tx, dev, "burst.b", id, null, { i });
        }),
      ),
    );
    const report = await verifyAuditChain(t.db.sql, { batchSize: 7 });
    expect(report.broken).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it("refuses UPDATE, DELETE and TRUNCATE of the chain itself", async () => {
    await expect(t.db.sql`UPDATE audit_chain SET hash = 'x'`).rejects.toThrow(
      /audit_chain is append-only: UPDATE/,
    );
    await expect(t.db.sql`DELETE FROM audit_chain`).rejects.toThrow(/audit_chain is append-only: DELETE/);
    await expect(t.db.sql`TRUNCATE audit_chain`).rejects.toThrow(/audit_chain is append-only: TRUNCATE/);
    await expect(t.db.sql`UPDATE audit_events SET actor = 'x'`).rejects.toThrow(
      /audit_events is append-only: UPDATE/,
    );
  });

  it("detects an event edited by the owner, naming it; a rewrite of the whole chain is caught by an anchor", async () => {
    const id = await someEvents();
    const before = await verifyAudit(t.db.sql);
    expect(before.ok).toBe(true);
    const anchor = `${before.head!.seq}:${before.head!.hash}`;
    const [target] = await t.db.sql`SELECT id::int AS id FROM audit_events
      WHERE release_id = ${id} AND action = 'release.status' ORDER BY id LIMIT 1`;
    await asOwner(t.db.sql, `UPDATE audit_events SET actor = 'mallory' WHERE id = ${target!.id}`);

    const edited = await verifyAudit(t.db.sql);
    expect(edited.ok).toBe(false);
    expect(edited.brokenCount).toBe(1);
    expect(edited.broken[0]).toMatchObject({ problem: "edited", eventId: target!.id });
    expect(edited.broken[0]!.message).toContain(`audit event ${target!.id} `);
    expect(edited.broken[0]!.message).toContain("changed after it was recorded");

    // The owner recomputes every link from the edited one on: the chain verifies again by
    // itself, but no longer holds the link kept before.
    const [link] = await t.db.sql`SELECT seq::int AS seq FROM audit_chain WHERE event_id = ${target!.id}`;
    await t.db.sql.begin(async (tx) => {
      await tx.unsafe("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_update");
      const rows =
        await tx`SELECT seq::int AS seq, event_id FROM audit_chain WHERE seq >= ${link!.seq} ORDER BY seq`;
      for (const r of rows) {
        await tx`UPDATE audit_chain c SET
            prev_hash = coalesce((SELECT p.hash FROM audit_chain p WHERE p.seq = c.seq - 1), ${"0".repeat(64)}),
            hash = relctl_audit_link_hash(
              coalesce((SELECT p.hash FROM audit_chain p WHERE p.seq = c.seq - 1), ${"0".repeat(64)}),
              c.seq, e)
          FROM audit_events e WHERE e.id = c.event_id AND c.seq = ${r.seq}`;
      }
      await tx.unsafe("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_no_update");
    });
    expect((await verifyAudit(t.db.sql)).ok).toBe(true);
    const anchored = await verifyAudit(t.db.sql, { anchor });
    expect(anchored.ok).toBe(false);
    expect(anchored.broken[0]).toMatchObject({ problem: "anchor_mismatch", seq: before.head!.seq });
    expect(anchored.broken[0]!.message).toContain("rewritten");
  });

  it("detects a deleted event, a removed link and an event written with the chain's trigger off", async () => {
    // Each case on a fresh chain state: the earlier test left one rewritten (now consistent) chain.
    const id = await someEvents();
    const events = await t.db
      .sql`SELECT id::int AS id FROM audit_events WHERE release_id = ${id} ORDER BY id`;
    await asOwner(t.db.sql, `DELETE FROM audit_events WHERE id = ${events[1]!.id}`);
    const deleted = await verifyAudit(t.db.sql);
    expect(deleted.broken).toEqual([
      expect.objectContaining({ problem: "event_deleted", eventId: events[1]!.id }),
    ]);
    expect(deleted.broken[0]!.message).toBe(
      `audit event ${events[1]!.id} (link ${deleted.broken[0]!.seq}) is missing: it was deleted`,
    );

    await t.db.sql.begin(async (tx) => {
      await tx.unsafe("ALTER TABLE audit_chain DISABLE TRIGGER audit_chain_no_update");
      await tx`DELETE FROM audit_chain WHERE event_id = ${events[1]!.id}`;
      await tx.unsafe("ALTER TABLE audit_chain ENABLE TRIGGER audit_chain_no_update");
    });
    const cut = await verifyAudit(t.db.sql);
    expect(cut.broken.map((b) => b.problem)).toEqual(["link_missing"]);
    expect(cut.broken[0]!.message).toMatch(/link \d+ is missing before audit event \d+/);

    await t.db.sql.begin(async (tx) => {
      await tx.unsafe("ALTER TABLE audit_events DISABLE TRIGGER audit_events_chain");
      await store.appendAudit(tx, { user: "ghost", channel: "cli" }, "release.approve", id, null, {});
      await tx.unsafe("ALTER TABLE audit_events ENABLE TRIGGER audit_events_chain");
    });
    const ghost = await verifyAudit(t.db.sql);
    expect(ghost.broken.map((b) => b.problem)).toEqual(["link_missing", "unlinked"]);
    expect(ghost.broken[1]!.message).toMatch(/audit event \d+ has no link in the chain/);
  });

  it("exports a period as CSV and as JSON lines that parse back to the stored events", async () => {
    const [clock] = await t.db.sql`SELECT clock_timestamp() AS now`;
    const since = new Date((clock!.now as Date).getTime() + 1);
    await new Promise((r) => setTimeout(r, 5));
    const id = await someEvents();
    await store.appendAudit(t.db.sql, dev, "odd.text", id, null, { reason: 'say "hi",\nthen go' });
    const stored = await t.db.sql`SELECT e.*, e.before::text AS before_text, e.after::text AS after_text,
        c.seq::int AS seq, c.hash FROM audit_events e LEFT JOIN audit_chain c ON c.event_id = e.id
      WHERE e.at >= ${since} ORDER BY e.id`;
    expect(stored.length).toBe(5);

    let csv = "";
    const csvCount = await exportAudit(t.db.sql, { since: since.toISOString(), format: "csv" }, (c) => {
      csv += c;
    });
    expect(csvCount).toBe(5);
    const [header, ...records] = parseCsv(csv);
    expect(header).toEqual([...AUDIT_EXPORT_COLUMNS]);
    expect(records).toHaveLength(5);
    records.forEach((rec, i) => {
      const row = Object.fromEntries(header!.map((h, j) => [h, rec[j]]));
      const s = stored[i]!;
      expect(row).toMatchObject({
        id: String(s.id),
        seq: String(s.seq),
        actor: s.actor,
        channel: s.channel,
        action: s.action,
        release_id: String(s.release_id),
        before: s.before_text ?? "",
        after: s.after_text ?? "",
        trace_id: s.trace_id,
        hash: s.hash,
      });
      expect(row.at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(row.at!.slice(0, 23)).toBe((s.at as Date).toISOString().slice(0, 23));
      // The export carries what the link hashed: its hash can be checked from the file alone.
      expect(
        auditLinkHash(row.prev_hash!, Number(row.seq), {
          id: Number(row.id),
          at: row.at!,
          actor: row.actor!,
          channel: row.channel!,
          action: row.action!,
          releaseId: Number(row.release_id),
          before: row.before || null,
          after: row.after || null,
          traceId: row.trace_id || null,
        }),
      ).toBe(row.hash);
    });

    let jsonl = "";
    const jsonCount = await exportAudit(t.db.sql, { since: since.toISOString(), format: "jsonl" }, (c) => {
      jsonl += c;
    });
    expect(jsonCount).toBe(5);
    const lines = jsonl
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.id)).toEqual(stored.map((s) => Number(s.id)));
    expect(lines.at(-1)).toMatchObject({
      action: "odd.text",
      release_id: id,
      before: null,
      after: { reason: 'say "hi",\nthen go' },
      trace_id: dev.traceId,
      seq: stored.at(-1)!.seq,
    });
    expect(Object.keys(lines[0]!)).toEqual([...AUDIT_EXPORT_COLUMNS]);

    let none = "";
    const later = new Date(Date.now() + 60_000).toISOString();
    expect(
      await exportAudit(t.db.sql, { since: later, format: "jsonl" }, (c) => {
        none += c;
      }),
    ).toBe(0);
    expect(none).toBe("");
  });
});

describe("migration 14 on a database with audit events", () => {
  it("links the events already recorded, in id order", async () => {
    const name = `relctl_chain_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const db = await openDatabase({ kind: "postgres", url: url.toString() });
    try {
      await db.sql`CREATE TABLE relctl_schema_migrations (
        version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;
      for (const m of MIGRATIONS.filter((m) => m.version < 14)) {
        await db.sql.unsafe(m.sql);
        await db.sql`INSERT INTO relctl_schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      }
      const store = new ReleaseStore(db.sql);
      const { release } = await store.createRelease({ service: "old", tag: "v1.0.0" }, dev);
      await store.transition(release.id, "stage_building", "runbook", dev);
      await store.appendAudit(db.sql, dev, "old.event", null, null, { x: "ü" });

      // 14 and every migration after it.
      expect(await runStoreMigrations(db.sql)).toEqual(
        MIGRATIONS.filter((m) => m.version >= 14).map((m) => m.version),
      );
      const report = await verifyAuditChain(db.sql);
      expect(report).toMatchObject({ ok: true, links: 3, head: { seq: 3, eventId: 3 } });
      await store.appendAudit(db.sql, dev, "new.event", null, null, null);
      expect(await verifyAuditChain(db.sql)).toMatchObject({ ok: true, links: 4, head: { eventId: 4 } });
    } finally {
      await db.close();
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe("migration 16: writes do not wait for the chain's lock", () => {
  let t: TestDatabase;
  let store: ReleaseStore;
  beforeAll(async () => {
    t = await ENGINES[0][1]();
    store = new ReleaseStore(t.db.sql);
  });
  afterAll(async () => {
    await t?.drop();
  });

  const queued = async () =>
    Number((await t.db.sql`SELECT count(*)::int AS n FROM audit_chain_pending`)[0]!.n);

  it("queues an event committed while another transaction holds the lock; the next write links it first", async () => {
    let notices = 0;
    const stop = onAuditEventQueued(() => notices++);
    const holder = await t.db.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT pg_advisory_xact_lock(7215002)`;
      await store.appendAudit(t.db.sql, dev, "while.locked", null, null, { n: 1 });
      await store.appendAudit(t.db.sql, dev, "while.locked", null, null, { n: 2 });
      expect(await queued()).toBe(2);
      // The writing client heard of each queued event (relctl serve links the queue then).
      expect(notices).toBe(2);
      await holder`COMMIT`;
    } finally {
      stop();
      holder.release();
    }
    await store.appendAudit(t.db.sql, dev, "after", null, null, null);
    expect(await queued()).toBe(0);
    const links = await t.db.sql`SELECT e.action, e.after->>'n' AS n FROM audit_chain c
      JOIN audit_events e ON e.id = c.event_id ORDER BY c.seq DESC LIMIT 3`;
    expect(links.map((l) => [l.action, l.n])).toEqual([
      ["after", null],
      ["while.locked", "2"],
      ["while.locked", "1"],
    ]);
    expect(await verifyAuditChain(t.db.sql)).toMatchObject({ ok: true, pending: 0 });
  });

  it("a write links at most 32 queued events (migration 18); relctl_audit_chain_extend links the rest", async () => {
    const holder = await t.db.sql.reserve();
    try {
      await holder`BEGIN`;
      await holder`SELECT pg_advisory_xact_lock(7215002)`;
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => store.appendAudit(t.db.sql, dev, "backlog", null, null, { i })),
      );
      expect(await queued()).toBe(40);
      await holder`COMMIT`;
    } finally {
      holder.release();
    }
    await store.appendAudit(t.db.sql, dev, "after.backlog", null, null, null);
    expect(await queued()).toBe(8);
    const [row] = await t.db.sql`SELECT relctl_audit_chain_extend() AS n`;
    expect(Number(row!.n)).toBe(8);
    expect(await queued()).toBe(0);
    expect(await verifyAuditChain(t.db.sql)).toMatchObject({ ok: true, pending: 0 });
  });

  it("a repeatable-read transaction's event is queued (its snapshot could not see the head); verify links it", async () => {
    await t.db.sql.begin("isolation level repeatable read", async (tx) => {
      await tx`SELECT 1`;
      await store.appendAudit(tx, dev, "rr.event", null, null, null);
    });
    expect(await queued()).toBe(1);
    const report = await verifyAuditChain(t.db.sql);
    expect(report).toMatchObject({ ok: true, pending: 0 });
    expect(await queued()).toBe(0);
  });

  it("the queue is the owner's: relctl_audit_chain_append is not the runtime's to call", async () => {
    const [row] = await t.db
      .sql`SELECT has_function_privilege('public', 'relctl_audit_chain_append(bigint)', 'EXECUTE') AS may`;
    expect(row!.may).toBe(false);
  });
});
