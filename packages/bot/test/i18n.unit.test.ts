import { describe, expect, it } from "vitest";
import { MESSAGE_KEYS, translate } from "../src/i18n.js";

/** Texts the same in both languages on purpose: a name, and templates of symbols and values only. */
const SAME = new Set(["role.devops", "history.status", "history.approve", "history.reject", "alert.firing"]);

describe("Russian texts", () => {
  it("every message has its own Russian text", () => {
    for (const key of MESSAGE_KEYS) {
      const ru = translate("ru", key);
      expect(ru.trim(), key).not.toBe("");
      if (!SAME.has(key)) expect(ru, key).not.toBe(translate("en", key));
    }
  });

  it("refusals and notices mix no English words into Russian", () => {
    const english =
      /\b(Refused|rolling|needs|roles? of|is under way|requested by|already|cannot|deploy(ed)?|approved?)\b/;
    for (const key of MESSAGE_KEYS.filter((k) => /^(refuse|notice|alert|card|rollback)\./.test(k))) {
      const ru = translate("ru", key, { message: "", who: "lee", to: "v1", tag: "v2", service: "auth" });
      expect(ru, key).not.toMatch(english);
    }
  });
});
