import { tooManyRequests } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BOT_TOKEN, type Harness, startHarness, waitFor } from "./support/harness.js";
import { messageIn } from "./support/release-flow.js";

const LEAD = 401;

describe("a Telegram update whose handler fails", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.addMember(LEAD, "lee", ["lead"]);
  });
  afterAll(async () => {
    await h?.close();
  });

  const failures = () => h.logs.filter((l) => l.includes("telegram update failed"));

  it("is logged without the token; a press is answered, and the next update is handled", async () => {
    await h.say(LEAD, LEAD, "/menu");
    const menu = await messageIn(h, LEAD, "relctl — choose a list");
    // The Bot API refuses every message to this chat from now on: the press cannot send its list.
    h.telegram.script = (call) =>
      (call.method === "sendMessage" || call.method === "editMessageText") &&
      Number(call.body.chat_id) === LEAD
        ? { status: 400, json: { ok: false, error_code: 400, description: "Bad Request: chat not found" } }
        : undefined;
    try {
      const answersBefore = h.telegram.answers().length;
      const active = h.telegram.button(LEAD, menu.messageId, /Active/);
      expect(await h.press(LEAD, LEAD, menu.messageId, active)).toBe(200);
      expect(
        h.telegram
          .answers()
          .slice(answersBefore)
          .map((a) => a.body),
      ).toMatchObject([{ text: "relctl: internal error", show_alert: true }]);
      expect(await h.say(LEAD, LEAD, "/menu")).toBe(200);
      expect(failures()).toHaveLength(2);
      for (const line of failures()) {
        expect(line).toContain("chat not found");
        expect(line).not.toContain(BOT_TOKEN);
        expect(line).not.toContain(BOT_TOKEN.split(":")[1]!);
      }
    } finally {
      h.telegram.script = undefined;
    }
    await h.say(LEAD, LEAD, "/menu");
    await messageIn(h, LEAD, "relctl — choose a list");
    expect(h.telegram.chatMessages(LEAD).filter((m) => m.text === "relctl — choose a list")).toHaveLength(2);
  });

  it("answers /menu through a 429: the reply waits out retry_after once, then is sent", async () => {
    const menus = () => h.telegram.chatMessages(LEAD).filter((m) => m.text === "relctl — choose a list");
    const menusBefore = menus().length;
    const callsBefore = h.telegram.calls.length;
    let limited = false;
    h.telegram.script = (call) => {
      if (call.method !== "sendMessage" || Number(call.body.chat_id) !== LEAD || limited) return undefined;
      limited = true;
      return tooManyRequests(1);
    };
    try {
      expect(await h.say(LEAD, LEAD, "/menu")).toBe(200);
      await waitFor(() => menus().length > menusBefore, 15_000, "the menu after the 429");
      const sends = h.telegram.calls
        .slice(callsBefore)
        .filter((c) => c.method === "sendMessage" && Number(c.body.chat_id) === LEAD);
      expect(sends.map((c) => c.status)).toEqual([429, 200]);
      expect(sends[1]!.at - sends[0]!.at).toBeGreaterThanOrEqual(950);
      expect(sends[1]!.body.text).toBe("relctl — choose a list");
    } finally {
      h.telegram.script = undefined;
    }
  });

  it("answers /menu through a 429 and a 502 from Telegram (the reply is retried, not lost)", async () => {
    const failuresBefore = failures().length;
    const menusBefore = h.telegram
      .chatMessages(LEAD)
      .filter((m) => m.text === "relctl — choose a list").length;
    let left = 2;
    h.telegram.script = (call) => {
      if (call.method !== "sendMessage" || Number(call.body.chat_id) !== LEAD || left === 0) return undefined;
      left--;
      return left === 1
        ? {
            status: 429,
            json: {
              ok: false,
              error_code: 429,
              description: "Too Many Requests: retry after 1",
              parameters: { retry_after: 1 },
            },
          }
        : { status: 502, html: "<html><body>502 Bad Gateway</body></html>" };
    };
    try {
      expect(await h.say(LEAD, LEAD, "/menu")).toBe(200);
      await waitFor(
        () =>
          h.telegram.chatMessages(LEAD).filter((m) => m.text === "relctl — choose a list").length >
          menusBefore,
        15_000,
        "the menu after the 429",
      );
      expect(left).toBe(0);
      expect(failures()).toHaveLength(failuresBefore);
    } finally {
      h.telegram.script = undefined;
    }
  });
});
