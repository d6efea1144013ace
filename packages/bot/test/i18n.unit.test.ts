import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FluentBundle, FluentResource } from "@fluent/bundle";
import { RELEASE_STATUSES } from "@relctl/core";
import type { Context } from "grammy";
import { describe, expect, it } from "vitest";
import {
  fluentId,
  i18nMiddleware,
  type LocalizedContext,
  MESSAGE_KEYS,
  type MessageKey,
  translate,
} from "../src/i18n.js";
import { REFUSAL_KEYS } from "../src/telegram/press-handler.js";
import { statusLabel } from "../src/telegram/render-card.js";

const LOCALES_DIR = join(import.meta.dirname, "..", "locales");
const source = (locale: string) => readFileSync(join(LOCALES_DIR, `${locale}.ftl`), "utf8");
const idsOf = (locale: string) => new FluentResource(source(locale)).body.map((m) => m.id);

/** Texts the same in both languages on purpose: a name, and templates of symbols and values only. */
const SAME = new Set(["role.devops", "history.status", "history.approve", "history.reject", "alert.firing"]);

/** English words that must not show in a Russian refusal, notice or card line. */
const ENGLISH =
  /\b(Refused|rolling|needs|roles? of|is under way|requested by|already|cannot|deploy(ed)?|approved?|rehearse|internal error)\b/;

/** Every value a message may name, so that a missing one would show (Fluent renders it as {$x}). */
const PARAMS = { message: "", who: "lee", to: "v1", tag: "v2", service: "auth", kind: "deploy", env: "prod" };

describe("the Fluent files", () => {
  it("parse without an error, each message once", () => {
    for (const locale of ["en", "ru"]) {
      const bundle = new FluentBundle(locale, { useIsolating: false });
      expect(bundle.addResource(new FluentResource(source(locale))), locale).toEqual([]);
      // A line the parser skipped as junk would be missing here.
      const declared = [...source(locale).matchAll(/^([a-z][\w-]*) =/gm)].map((m) => m[1]);
      expect(idsOf(locale), locale).toEqual(declared);
      expect(new Set(declared).size, locale).toBe(declared.length);
    }
  });

  it("en.ftl and ru.ftl have the same messages, which are exactly the keys the code uses", () => {
    const en = idsOf("en").sort();
    expect(idsOf("ru").sort()).toEqual(en);
    // The code names messages by MessageKey only (the compiler checks every call): each has both.
    expect(MESSAGE_KEYS.map(fluentId).sort()).toEqual(en);
  });
});

describe("Russian texts", () => {
  it("every message has its own Russian text", () => {
    for (const key of MESSAGE_KEYS) {
      const ru = translate("ru", key, PARAMS);
      expect(ru.trim(), key).not.toBe("");
      expect(ru, key).not.toMatch(/\{\$?\w+\}/);
      if (!SAME.has(key)) expect(ru, key).not.toBe(translate("en", key, PARAMS));
    }
  });

  it("refusals, notices and cards mix no English words into Russian", () => {
    for (const key of MESSAGE_KEYS.filter((k) =>
      /^(refuse|notice|alert|card|rollback|history|done)\./.test(k),
    )) {
      const ru = translate("ru", key, { ...PARAMS, message: "the English message" });
      expect(ru, key).not.toMatch(ENGLISH);
      expect(ru, key).not.toContain("the English message");
    }
  });

  it("every release status has a Russian name, never its id", () => {
    for (const status of RELEASE_STATUSES) {
      const ru = statusLabel("ru", status);
      expect(ru, status).not.toBe(status);
      expect(ru, status).not.toBe(statusLabel("en", status));
      expect(ru, status).toMatch(/[а-яё]/i);
      expect(ru, status).not.toMatch(ENGLISH);
    }
  });

  it("every refusal a press or a reply can meet is said in Russian, never by its code", () => {
    const keys: [string, MessageKey][] = [
      ...Object.entries(REFUSAL_KEYS),
      ["missing_role (approve)", "refuse.approve_role"],
      ["missing_role (rollback)", "refuse.rollback_role"],
      ["subscribe by a non-admin", "refuse.subscribe_admin"],
      ["a failed update", "refuse.internal"],
    ];
    for (const [code, key] of keys) {
      const ru = translate("ru", key, { ...PARAMS, message: `${code}: the English message` });
      expect(ru, code).not.toContain(code);
      expect(ru, code).not.toMatch(ENGLISH);
      expect(ru, code).not.toContain("English");
      expect(ru, code).toMatch(/[а-яё]/i);
    }
    // Any other code: worded by the error's kind, without core's English message.
    for (const kind of ["usage", "state", "external", "bug"]) {
      const ru = translate("ru", "refuse.generic", { kind, message: "database: connection refused" });
      expect(ru, kind).toMatch(/[а-яё]/i);
      expect(ru, kind).not.toContain("connection refused");
    }
    expect(translate("en", "refuse.generic", { kind: "state", message: "it is qa's turn" })).toBe(
      "Refused: it is qa's turn",
    );
  });
});

describe("plural forms", () => {
  it("Russian picks one, few or many by the count (CLDR)", () => {
    const more = (shown: number) => translate("ru", "menu.more", { shown, total: 40 });
    expect(more(1)).toBe("Последний 1 релиз из 40; все — в CLI (relctl releases).");
    expect(more(2)).toBe("Последние 2 релиза из 40; все — в CLI (relctl releases).");
    expect(more(5)).toBe("Последние 5 релизов из 40; все — в CLI (relctl releases).");
    expect(more(11)).toBe("Последние 11 релизов из 40; все — в CLI (relctl releases).");
    expect(more(21)).toBe("Последний 21 релиз из 40; все — в CLI (relctl releases).");
    expect(more(22)).toBe("Последние 22 релиза из 40; все — в CLI (relctl releases).");

    const approved = (remaining: number) => translate("ru", "done.approved", { role: "QA", remaining });
    expect(approved(0)).toBe("Одобрено как QA; все одобрения получены.");
    expect(approved(1)).toBe("Одобрено как QA; нужно ещё 1 одобрение.");
    expect(approved(2)).toBe("Одобрено как QA; нужно ещё 2 одобрения.");
    expect(approved(5)).toBe("Одобрено как QA; нужно ещё 5 одобрений.");
    expect(approved(21)).toBe("Одобрено как QA; нужно ещё 21 одобрение.");
  });

  it("English picks one or other", () => {
    expect(translate("en", "menu.more", { shown: 1, total: 40 })).toBe(
      "The newest release of 40; the CLI lists them all (relctl releases).",
    );
    expect(translate("en", "menu.more", { shown: 20, total: 40 })).toBe(
      "The newest 20 releases of 40; the CLI lists them all (relctl releases).",
    );
    expect(translate("en", "done.approved", { role: "QA Team", remaining: 0 })).toBe(
      "Approved as QA Team; every approval is in.",
    );
    expect(translate("en", "done.approved", { role: "QA Team", remaining: 1 })).toBe(
      "Approved as QA Team; 1 more approval is needed.",
    );
    expect(translate("en", "done.approved", { role: "QA Team", remaining: 3 })).toBe(
      "Approved as QA Team; 3 more approvals are needed.",
    );
  });
});

describe("rendering", () => {
  it("puts no Unicode isolation marks around values, and writes ids without digit grouping", () => {
    for (const key of MESSAGE_KEYS) {
      for (const locale of ["en", "ru"] as const) {
        expect(translate(locale, key, { ...PARAMS, run: 12345, id: 1234567 }), key).not.toMatch(
          /[\u2068\u2069]/,
        );
      }
    }
    expect(translate("en", "refuse.not_a_member", { id: 123456789 })).toBe(
      "You are not a member (your Telegram id is 123456789).",
    );
    expect(translate("ru", "card.run_in_progress", { run: 1234, kind: "rehearse", env: "stage" })).toBe(
      "▶️ Идёт запуск 1234 (репетиция отката, stage)",
    );
    expect(translate("en", "card.run_in_progress", { run: 1234, kind: "deploy", env: "stage" })).toBe(
      "▶️ Run 1234 (deploy to stage) in progress",
    );
  });

  it("fills a value that is not given with nothing, as before", () => {
    expect(translate("en", "card.rejected", { who: "quinn" })).toBe("Rejected by quinn (): ");
    expect(translate("en", "history.create", { who: null })).toBe("created by ");
  });

  it("gives a command handler ctx.t in the language its negotiator picks", async () => {
    const ctx = {
      from: { id: 1, is_bot: false, first_name: "r", language_code: "en" },
    } as unknown as LocalizedContext;
    const seen: string[] = [];
    await i18nMiddleware<LocalizedContext>(() => "ru")(ctx, async () => {
      seen.push(ctx.t("lang.set"), ctx.t("refuse.not_a_member", { id: 1234567 }));
      ctx.i18n.useLocale("en");
      seen.push(ctx.t("lang.set"));
    });
    expect(seen).toEqual([
      "Язык: русский",
      "Вы не участник (ваш Telegram id: 1234567).",
      "Language: English",
    ]);
    // Without a stored choice the plugin falls back to Telegram's language.
    const fresh = {
      from: { id: 2, is_bot: false, first_name: "e", language_code: "ru" },
    } as unknown as Context;
    await i18nMiddleware<LocalizedContext>(() => undefined)(fresh as LocalizedContext, async () => {
      seen.push((fresh as LocalizedContext).t("lang.set"));
    });
    expect(seen.at(-1)).toBe("Язык: русский");
  });
});
