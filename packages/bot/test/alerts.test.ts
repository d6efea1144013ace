import { type RedisServer, startRedisServer } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, outboxDrained, startHarness, waitFor } from "./support/harness.js";
import { seedDeployed } from "./support/seed-releases.js";

const ALERT_CHAT = -3003;
const LEAD = 303;

function webhook(fingerprint: string, replica: string, status: "firing" | "resolved" = "firing") {
  return {
    version: "4",
    status,
    receiver: `relctl-${replica}`,
    groupKey: `{}:{alertname="HighErrorRate"}`,
    groupLabels: { alertname: "HighErrorRate" },
    commonLabels: { alertname: "HighErrorRate", service: "auth" },
    commonAnnotations: {},
    externalURL: `http://alertmanager-${replica}:9093`,
    alerts: [
      {
        status,
        labels: { alertname: "HighErrorRate", service: "auth", severity: "critical" },
        annotations: { summary: "5xx above 5% for 5 minutes" },
        startsAt: "2026-11-26T09:00:00Z",
        endsAt: "0001-01-01T00:00:00Z",
        generatorURL: "http://prometheus:9090/graph",
        fingerprint,
      },
    ],
  };
}

describe("incidents from Alertmanager", () => {
  let h: Harness;
  let redis: RedisServer;
  let current: number;

  beforeAll(async () => {
    redis = await startRedisServer();
    h = await startHarness({
      env: { ALERT_CHAT_ID: String(ALERT_CHAT), REDIS_URL: redis.url, REDIS_PREFIX: `t${process.pid}:` },
    });
    await h.addMember(LEAD, "lee", ["lead"]);
    await seedDeployed(h.service.deps.store, "auth", "v0.9.0");
    await seedDeployed(h.service.deps.store, "auth", "v1.0.0");
    current = await seedDeployed(h.service.deps.store, "auth", "v1.1.0");
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  const alertMessages = (fingerprintText = "HighErrorRate") =>
    h.telegram.chatMessages(ALERT_CHAT).filter((m) => m.text.includes(fingerprintText));

  async function storm(fingerprint: string) {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        h.api("POST", "/alerts", webhook(fingerprint, i % 2 ? "a" : "b")),
      ),
    );
    return results.map((r) => r.status);
  }

  it("posts 100 copies of one alert from two replicas once, naming what production runs", async () => {
    const statuses = await storm("fp-1");
    expect(new Set(statuses)).toEqual(new Set([200]));
    await outboxDrained(h);
    await new Promise((r) => setTimeout(r, 200));
    const posted = alertMessages();
    expect(posted).toHaveLength(1);
    expect(posted[0]!.text).toContain("🔥 HighErrorRate — auth [critical]");
    expect(posted[0]!.text).toContain("5xx above 5% for 5 minutes");
    expect(posted[0]!.text).toMatch(
      /Production runs v1\.1\.0, deployed \d{4}-\d\d-\d\d \d\d:\d\d UTC by deployer/,
    );
    expect(posted[0]!.buttons.flat().map((b) => b.text)).toEqual(["↩️ Roll back to v1.0.0"]);
  });

  it("offers the rollback only through the same permission checks, and dispatches the rollback workflow", async () => {
    const alert = alertMessages()[0]!;
    const button = alert.buttons[0]![0]!.data;
    await h.press(999, ALERT_CHAT, alert.messageId, button);
    expect(h.telegram.answers().at(-1)!.body).toMatchObject({
      show_alert: true,
      text: "You are not a member (your Telegram id is 999).",
    });
    await h.press(LEAD, ALERT_CHAT, alert.messageId, button);
    const confirm = await waitFor(
      () =>
        h.telegram.chatMessages(ALERT_CHAT).find((m) => m.text === "Roll back auth from v1.1.0 to v1.0.0?"),
      15_000,
      "the confirmation",
    );
    await h.press(
      LEAD,
      ALERT_CHAT,
      confirm.messageId,
      h.telegram.button(ALERT_CHAT, confirm.messageId, /Yes/),
    );
    await waitFor(() => h.github.accepted().length === 1, 15_000, "the rollback dispatch");
    expect(h.github.dispatches[0]).toMatchObject({
      repo: "auth",
      workflow: "rollback.yml",
      body: { ref: "main", inputs: { release_id: String(current), tag: "v1.0.0" } },
    });
    const request = await waitFor(
      async () =>
        (
          await h.db.db
            .sql`SELECT kind, state, requested_by, to_tag FROM deploy_requests WHERE state = 'dispatched'`
        )[0],
      15_000,
      "the request to be dispatched",
    );
    // The incident shows the rollback under way instead of its button.
    await waitFor(
      () => alert.text.includes("A rollback to v1.0.0 is under way, requested by lee at"),
      10_000,
      "the incident with the rollback under way",
    );
    expect(alert.buttons).toEqual([]);
    // Open until the workflow reports the release's end.
    expect(request).toMatchObject({
      kind: "rollback",
      state: "dispatched",
      requested_by: "lee",
      to_tag: "v1.0.0",
    });
  });

  it("still posts once with Redis stopped (the database de-duplicates)", async () => {
    await redis.stop();
    const statuses = await storm("fp-2");
    expect(new Set(statuses)).toEqual(new Set([200]));
    // And a repeat of the first alert, now without Redis, is still not posted again.
    expect(new Set(await storm("fp-1"))).toEqual(new Set([200]));
    await outboxDrained(h);
    await new Promise((r) => setTimeout(r, 200));
    const rows = await h.db.db.sql`SELECT event_key FROM outbox WHERE kind = 'alert' ORDER BY id`;
    expect(rows.map((r) => r.event_key)).toEqual([
      "alert:fp-1:firing:2026-11-26T09:00:00Z",
      "alert:fp-2:firing:2026-11-26T09:00:00Z",
    ]);
    expect(alertMessages()).toHaveLength(2);
    const health = await h.api("GET", "/health");
    expect(health.body).toMatchObject({ status: "ok", database: { ok: true }, redis: { ok: false } });
  });

  it("answers 5xx only when nothing could record the alert, so Alertmanager retries", async () => {
    const dbName = new URL(h.db.url!).pathname.slice(1);
    // The token was just verified (and is remembered for RELCTL_TOKEN_CACHE_MS): what fails below
    // is recording the alert, not reading the token, however long the tests before took.
    expect((await h.api("GET", "/releases")).status).toBe(200);
    await h.db.db.sql.unsafe(`ALTER DATABASE ${dbName} CONNECTION LIMIT 0`);
    await h.db.db.sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
      WHERE datname = ${dbName} AND pid <> pg_backend_pid()`;
    try {
      const res = await h.api("POST", "/alerts", webhook("fp-3", "a"));
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ error: { code: "alert_not_recorded", kind: "external" } });
    } finally {
      await h.db.db.sql.unsafe(`ALTER DATABASE ${dbName} CONNECTION LIMIT -1`);
    }
    await waitFor(
      async () => (await h.api("POST", "/alerts", webhook("fp-3", "a"))).status === 200,
      10_000,
      "recovery",
    );
  });

  it("names the people who approved what production runs, not the token that deployed it", () => {
    const incident = alertMessages()[0]!;
    expect(incident.text).toContain(
      "Approved by seed-qa (QA Team), seed-devops (DevOps), seed-lead (Team Lead)",
    );
  });

  it("a resolved alert edits its incident (resolved, no button) and replies to it", async () => {
    const incident = alertMessages()[0]!;
    expect((await h.api("POST", "/alerts", webhook("fp-1", "a", "resolved"))).status).toBe(200);
    await outboxDrained(h);
    expect(incident.text.split("\n")[0]).toBe("✅ resolved: HighErrorRate — auth [critical]");
    expect(incident.buttons).toEqual([]);
    const reply = h.telegram.sent(ALERT_CHAT).at(-1)!;
    expect(reply.body).toMatchObject({
      text: "✅ Resolved: HighErrorRate",
      reply_parameters: { message_id: incident.messageId },
    });
    // Resolved once: no second incident message was posted for it.
    expect(alertMessages().filter((m) => m.text.startsWith("✅ resolved"))).toHaveLength(1);
  });

  it("after the workflow's rollback, a new incident names the release now live and what is left to roll back to", async () => {
    // The rollback dispatched above reports its end as a hand-written workflow would: statuses only.
    expect(
      (await h.api("PATCH", "/release", { release_id: current, status: "production_rollback" })).status,
    ).toBe(200);
    expect((await h.api("PATCH", "/release", { release_id: current, status: "rollback_done" })).status).toBe(
      200,
    );
    const [rolledBack] = await h.db.db.sql`SELECT rollback_to_tag FROM releases WHERE id = ${current}`;
    expect(rolledBack!.rollback_to_tag).toBe("v1.0.0");
    const [request] = await h.db.db.sql`SELECT state FROM deploy_requests WHERE kind = 'rollback'`;
    expect(request!.state).toBe("done");
    // The incident still open about it says where production went.
    const second = alertMessages().find((m) => m.text.startsWith("🔥") && !m.text.includes("v1.0.0,"))!;
    await waitFor(() => second.text.includes("↩️ Rolled back to v1.0.0"), 10_000, "the incident's end");
    expect(second.buttons).toEqual([]);

    const fresh = webhook("fp-9", "a");
    fresh.alerts[0]!.startsAt = "2026-11-26T10:00:00Z";
    expect((await h.api("POST", "/alerts", fresh)).status).toBe(200);
    await outboxDrained(h);
    const incident = await waitFor(
      () =>
        h.telegram
          .chatMessages(ALERT_CHAT)
          .find((m) => m.text.includes("HighErrorRate") && m.text.includes("v1.0.0,")),
      10_000,
      "the new incident",
    );
    expect(incident.text).toMatch(/Production runs v1\.0\.0, deployed /);
    expect(incident.buttons.flat().map((b) => b.text)).toEqual(["↩️ Roll back to v0.9.0"]);
  });
});
