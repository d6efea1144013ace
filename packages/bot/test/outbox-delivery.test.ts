import type { TelegramCall } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness } from "./support/harness.js";

const OUTGOING = new Set(["sendMessage", "editMessageText"]);

describe("notifications never lost: Telegram answering 429 and then 502", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_RETRY_BASE_MS: "100" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("delivers every notification later, in order, none twice", async () => {
    let rateLimitedUntil = Date.now() + 2500;
    let badGateways = 3;
    h.telegram.script = (call) => {
      if (!OUTGOING.has(call.method)) return undefined;
      if (Date.now() < rateLimitedUntil) {
        return {
          status: 429,
          json: {
            ok: false,
            error_code: 429,
            description: "Too Many Requests: retry after 1",
            parameters: { retry_after: 1 },
          },
        };
      }
      if (badGateways > 0) {
        badGateways--;
        return { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
      }
      return undefined;
    };

    const created = await h.api("POST", "/release", { service: "auth", tag: "v3.0.0" });
    const id = created.body.release_id as number;
    for (const status of ["stage_building", "stage_test_rollback", "manual_testing"]) {
      expect((await h.api("PATCH", "/release", { release_id: id, status })).status).toBe(200);
    }
    const second = await h.api("POST", "/release", { service: "billing", tag: "v9.0.0" });
    await h.api("PATCH", "/release", { release_id: second.body.release_id, status: "stage_building" });
    await h.api("PATCH", "/release", { release_id: second.body.release_id, status: "stage_building_failed" });

    await outboxDrained(h, 30_000);
    rateLimitedUntil = 0;

    const outgoing = h.telegram.calls.filter((c) => OUTGOING.has(c.method));
    const limited = outgoing.filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(outgoing.filter((c) => c.status === 502)).toHaveLength(3);
    // retry_after is honoured: nothing goes out for a second after any 429.
    for (const c of limited) {
      const next = outgoing.find((o) => o.at > c.at && o !== c && outgoing.indexOf(o) > outgoing.indexOf(c));
      if (next) expect(next.at - c.at).toBeGreaterThanOrEqual(950);
    }

    const delivered = h.telegram
      .sent(RELEASE_CHAT)
      .map((c: TelegramCall) => String(c.body.text).split("\n")[0]);
    expect(delivered).toEqual([
      `auth v3.0.0 — #${id}`,
      "🧪 auth v3.0.0 is ready for manual testing",
      `billing v9.0.0 — #${second.body.release_id}`,
      "❗ billing v9.0.0: the stage deploy failed",
    ]);
    const card = h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v3.0.0"))!;
    expect(card.text).toContain("Status: manual testing");
    const rows = await h.db.db.sql`SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL`;
    expect(rows[0]!.n).toBe(0);
  });
});
