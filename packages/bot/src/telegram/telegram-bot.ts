import { autoRetry } from "@grammyjs/auto-retry";
import { Api, Bot, type BotError, Composer, type Context } from "grammy";
import type { AppDeps } from "../app-deps.js";
import { i18nMiddleware, type LocalizedContext, localeFrom, translate } from "../i18n.js";
import type { Logger } from "../logger.js";
import type { TelegramSettings } from "../settings.js";
import { buttonsFeature } from "./features/buttons.js";
import { languageFeature } from "./features/language.js";
import { menuFeature } from "./features/menu.js";
import { rejectReasonFeature } from "./features/reject-reason.js";
import { subscribeFeature } from "./features/subscribe.js";
import type { PressHandler } from "./press-handler.js";
import { traceApiCalls, traceUpdates } from "./telegram-tracing.js";

const clientOptions = (settings: TelegramSettings) => ({
  ...(settings.apiRoot ? { apiRoot: settings.apiRoot } : {}),
  timeoutSeconds: 15,
});

/**
 * The bot's Bot API client (grammY); `apiRoot` points it at an emulator in tests. Once started
 * (retryDirectCalls), its direct calls (a reply, an answer to a press, a card edited on a press)
 * ride out a short 429 or 5xx with grammY's auto-retry: a few tries, never a wait over 10 s.
 */
export function createTelegramBot(settings: TelegramSettings): Bot {
  const bot = new Bot(settings.token, { client: clientOptions(settings) });
  traceApiCalls(bot.api, settings.apiRoot);
  return bot;
}

/** Called once the bot is known to Telegram (getMe answered): a start must still fail fast. */
export function retryDirectCalls(bot: Bot): void {
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 10 }));
}

/**
 * The client the outbox sender uses: no auto-retry, since the outbox retries by itself (durably,
 * with the chat paused for Telegram's retry_after).
 */
export function createQueuedApi(settings: TelegramSettings): Api {
  const api = new Api(settings.token, clientOptions(settings));
  traceApiCalls(api, settings.apiRoot);
  return api;
}

/** The command list Telegram shows in its menu, in English and in Russian. */
export async function publishCommands(api: Api): Promise<void> {
  for (const locale of ["en", "ru"] as const) {
    const commands = (["menu", "lang", "subscribe", "help"] as const).map((command) => ({
      command,
      description: translate(locale, `commands.${command}`),
    }));
    await api.setMyCommands(commands, locale === "ru" ? { language_code: "ru" } : {});
  }
}

/** A failed update: logged (the logger removes the token), and a press is answered, never left spinning. */
function reportFailure(logger: Logger) {
  return async (err: BotError): Promise<void> => {
    logger.error("telegram update failed", { update: err.ctx.update.update_id, err: err.error });
    if (err.ctx.callbackQuery) {
      // In Telegram's language for the person: the stored one may be what just failed to load.
      const text = translate(localeFrom(err.ctx.from?.language_code), "refuse.internal");
      await err.ctx.answerCallbackQuery({ text, show_alert: true }).catch(() => {});
    }
  };
}

/**
 * Wires the features onto the bot, one Composer each, behind one error boundary: a feature's error
 * is reported, never thrown, whether the update came by long polling or by the webhook. bot.catch
 * reports what would escape the boundary, so long polling never stops on an error.
 */
export function installHandlers(bot: Bot, deps: AppDeps, press: PressHandler): void {
  const report = reportFailure(deps.logger);
  traceUpdates(bot);
  // A command gets ctx.t in the language its sender chose with /lang (stored with the member),
  // else in their Telegram language. Only commands: presses and replies are answered by the
  // press handler, which looks the member up itself.
  const commands = new Composer<LocalizedContext>();
  commands.on(
    "::bot_command",
    i18nMiddleware<LocalizedContext>(async (ctx) => {
      const member = ctx.from ? await deps.members.findByTelegramId(ctx.from.id) : undefined;
      return member?.locale ?? localeFrom(ctx.from?.language_code);
    }),
  );
  commands.use(menuFeature(deps), languageFeature(deps), subscribeFeature(deps));
  // Commands first: a command is not a reject reason. The composer takes any update (its first
  // middleware adds ctx.i18n and ctx.t before a command handler sees it), hence the cast.
  bot.errorBoundary(
    report,
    commands as unknown as Composer<Context>,
    buttonsFeature(press),
    rejectReasonFeature(press),
  );
  bot.catch(report);
}
