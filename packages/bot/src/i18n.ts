import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FluentResource } from "@fluent/bundle";
import { I18n, type I18nFlavor, type LocaleNegotiator, type TranslationVariables } from "@grammyjs/i18n";
import type { Locale } from "@relctl/core";
import type { Context, MiddlewareFn } from "grammy";

/**
 * The bot's texts are Fluent files, one per language: locales/en.ftl and locales/ru.ftl beside
 * src/ (and copied into dist/locales by the build). They are rendered by grammY's i18n plugin:
 * `translate` below for code without an update (the outbox sender, the card publisher), and
 * `ctx.t` in the command handlers (the plugin's middleware; see telegram-bot.ts).
 */
export const LOCALES: readonly Locale[] = ["en", "ru"];

type Params = Readonly<Record<string, string | number | null | undefined>>;

/**
 * Every message the code uses, by its key. A key is the Fluent message id with "." for the first
 * "-" (card.status ↔ card-status): Fluent ids cannot hold a dot, and the plugin reads a dot as
 * a message's attribute. A test checks this list is exactly the ids of en.ftl and of ru.ftl.
 */
export const MESSAGE_KEYS = [
  "role.qa",
  "role.devops",
  "role.lead",
  "role.admin",
  "status.initiated",
  "status.stage_building",
  "status.stage_building_failed",
  "status.stage_test_rollback",
  "status.stage_test_rollback_failed",
  "status.manual_testing",
  "status.manual_test_passed",
  "status.manual_test_failed",
  "status.deploying",
  "status.deployed",
  "status.production_failed",
  "status.production_rollback",
  "status.rollback_done",
  "status.rollback_failed",
  "run.kind",
  "card.status",
  "card.approvals",
  "card.run",
  "card.history",
  "card.rejected",
  "card.rollback_to",
  "card.rollback_open",
  "card.run_in_progress",
  "card.run_interrupted",
  "card.run_rolled_back",
  "card.run_rollback_failed",
  "history.create",
  "history.status",
  "history.approve",
  "history.reject",
  "history.deploy_request",
  "history.deploy_done",
  "history.deploy_pending",
  "history.deploy_failed",
  "history.deploy_unknown",
  "history.rollback_request",
  "history.rollback_dispatched",
  "history.rollback_done",
  "history.rollback_pending",
  "history.rollback_failed",
  "history.rollback_unknown",
  "history.run_interrupted",
  "history.run_link",
  "button.approve",
  "button.reject",
  "button.rollback",
  "button.confirm_rollback",
  "button.confirm_rollback_to",
  "button.cancel",
  "button.rollback_to",
  "button.back",
  "menu.title",
  "menu.active",
  "menu.successful",
  "menu.failed",
  "menu.empty",
  "menu.more",
  "help.text",
  "commands.menu",
  "commands.lang",
  "commands.subscribe",
  "commands.help",
  "lang.set",
  "chat.subscribed",
  "notice.stage_building",
  "notice.stage_building_failed",
  "notice.stage_test_rollback_failed",
  "notice.manual_testing",
  "notice.manual_test_passed",
  "notice.manual_test_failed",
  "notice.deployed",
  "notice.production_failed",
  "notice.production_rollback",
  "notice.rollback_done",
  "notice.rollback_failed",
  "notice.deploy_done",
  "notice.deploy_failed",
  "notice.deploy_unknown",
  "notice.rollback_request_done",
  "notice.rollback_request_dispatched",
  "notice.rollback_request_failed",
  "notice.rollback_request_unknown",
  "notice.run_interrupted",
  "alert.firing",
  "alert.resolved",
  "alert.production",
  "alert.approved",
  "alert.resolved_reply",
  "alert.rolled_back",
  "refuse.forged",
  "refuse.stale",
  "refuse.other_chat",
  "refuse.not_a_member",
  "refuse.rollback_in_progress",
  "refuse.generic",
  "refuse.internal",
  "refuse.approve_role",
  "refuse.not_your_turn",
  "refuse.self_approval",
  "refuse.already_approved",
  "refuse.role_complete",
  "refuse.out_of_order",
  "refuse.not_awaiting_approval",
  "refuse.unknown_role",
  "refuse.illegal_transition",
  "refuse.release_not_found",
  "refuse.reason_required",
  "refuse.reason_too_long",
  "refuse.reason_control_character",
  "refuse.rollback_role",
  "refuse.service_not_covered",
  "refuse.environment_not_covered",
  "refuse.not_live",
  "refuse.not_restorable",
  "refuse.subscribe_admin",
  "reject.prompt",
  "reject.empty",
  "reject.refused",
  "rollback.pick",
  "rollback.none",
  "rollback.confirm",
  "rollback.requested",
  "rollback.cancelled",
  "done.approved",
] as const;

export type MessageKey = (typeof MESSAGE_KEYS)[number];

const KEYS: ReadonlySet<string> = new Set(MESSAGE_KEYS);

/** A key's Fluent message id: card.status → card-status. */
export function fluentId(key: MessageKey): string {
  return key.replace(".", "-");
}

/**
 * The folder of the .ftl files: dist/locales next to the built bundle, or locales/ beside src/
 * when the bot runs from its sources (tests, tsx).
 */
function localesDir(): string {
  for (const candidate of ["./locales/", "../locales/"]) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(`${dir}en.ftl`)) return dir;
  }
  throw new Error(`the bot's translations (locales/en.ftl) are not beside ${fileURLToPath(import.meta.url)}`);
}

const DIR = localesDir();
const SOURCES = Object.fromEntries(
  LOCALES.map((locale) => [locale, readFileSync(`${DIR}${locale}.ftl`, "utf8")]),
) as Readonly<Record<Locale, string>>;

/**
 * An I18n instance with every language loaded. `localeNegotiator` picks an update's language for
 * the middleware (ctx.t); without one, the plugin falls back to Telegram's language_code.
 */
export function createI18n<C extends Context = Context>(localeNegotiator?: LocaleNegotiator<C>): I18n<C> {
  const i18n = new I18n<C>({
    defaultLocale: "en",
    // Fluent wraps every placeable in Unicode isolation marks (U+2068 … U+2069) by default, for
    // right-to-left text. Telegram shows them as stray characters in copied text and they would
    // break every comparison with a plain string: both languages here are left-to-right, so off.
    fluentBundleOptions: { useIsolating: false },
    ...(localeNegotiator ? { localeNegotiator } : {}),
  });
  for (const locale of LOCALES) i18n.loadLocaleSync(locale, { source: SOURCES[locale] });
  return i18n;
}

/** The instance `translate` renders with (no update needed). */
export const i18n: I18n = createI18n();

/**
 * The variables each message reads (also through the messages it references, like run-kind), in
 * either language, and those it selects on (a plural, a kind).
 */
interface MessageVariables {
  readonly all: Set<string>;
  readonly selectors: Set<string>;
}

const VARIABLES: ReadonlyMap<string, MessageVariables> = (() => {
  const result = new Map<string, MessageVariables>();
  for (const locale of LOCALES) {
    for (const [id, found] of variablesOf(SOURCES[locale])) {
      const entry = result.get(id) ?? { all: new Set<string>(), selectors: new Set<string>() };
      for (const name of found.all) entry.all.add(name);
      for (const name of found.selectors) entry.selectors.add(name);
      result.set(id, entry);
    }
  }
  return result;
})();

function variablesOf(source: string): Map<string, MessageVariables> {
  type Node = { type?: string; name?: string; selector?: Node };
  const messages = new Map(new FluentResource(source).body.map((m) => [m.id, m] as const));
  const visit = (id: string, found: MessageVariables, seen: Set<string>): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const walk = (node: unknown): void => {
      if (!node || typeof node !== "object") return;
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      const n = node as Node;
      if (n.type === "var" && n.name) found.all.add(n.name);
      if (n.type === "mesg" && n.name) visit(n.name, found, seen);
      if (n.type === "select" && n.selector?.type === "var" && n.selector.name)
        found.selectors.add(n.selector.name);
      for (const value of Object.values(n)) walk(value);
    };
    walk(messages.get(id)?.value);
    walk(messages.get(id)?.attributes);
  };
  const result = new Map<string, MessageVariables>();
  for (const id of messages.keys()) {
    const found = { all: new Set<string>(), selectors: new Set<string>() };
    visit(id, found, new Set());
    result.set(id, found);
  }
  return result;
}

/**
 * Fluent's variables from ours: a missing one is "" (Fluent would throw on it), and a number is
 * text except where a message selects on it (a plural), so ids and run numbers never show a
 * locale's digit grouping (1,234 or 1 234).
 */
function variables(id: string, params: Params): TranslationVariables {
  const used = VARIABLES.get(id);
  const out: Record<string, string | number> = {};
  for (const name of used?.all ?? []) {
    const value = params[name];
    const selector = used?.selectors.has(name) ?? false;
    if (selector && typeof value === "number") out[name] = value;
    else if (selector && typeof value === "string" && /^\d+$/.test(value)) out[name] = Number(value);
    else out[name] = value === null || value === undefined ? "" : String(value);
  }
  return out;
}

/** A message in the given language, with its variables filled. Pure. */
export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  const id = fluentId(key);
  return i18n.t(locale, id, variables(id, params));
}

export function hasMessage(key: string): key is MessageKey {
  return KEYS.has(key);
}

/** A Telegram language_code → one of ours. */
export function localeFrom(code: string | undefined | null): Locale {
  return code?.toLowerCase().startsWith("ru") ? "ru" : "en";
}

/**
 * What the bot's handlers see once the i18n middleware ran: the plugin's ctx.i18n, and ctx.t
 * bound to the update's language. ctx.t takes our keys (lang.set) like `translate` and fills
 * variables the same way; underneath it is the plugin's own translate function.
 */
export type LocalizedContext = Context & {
  readonly i18n: I18nFlavor["i18n"];
  t(key: MessageKey, params?: Params): string;
};

/** The plugin's middleware, with ctx.t as above; `localeNegotiator` says whose language it is. */
export function i18nMiddleware<C extends LocalizedContext>(
  localeNegotiator: LocaleNegotiator<C>,
): MiddlewareFn<C> {
  const plugin = createI18n<C>(localeNegotiator).middleware();
  return (ctx, next) =>
    plugin(ctx as C & I18nFlavor, async () => {
      const byId = (ctx as unknown as I18nFlavor).translate;
      ctx.t = (key, params = {}) => byId(fluentId(key), variables(fluentId(key), params));
      await next();
    });
}
