import { randomUUID } from "node:crypto";
import { Bot, Composer, type Context } from "grammy";
import type { AppDeps } from "../app-deps.js";
import { localeFrom, translate } from "../i18n.js";
import type { TelegramSettings } from "../settings.js";
import type { PressHandler } from "./press-handler.js";
import { renderMenu } from "./render-card.js";

/** The bot's Bot API client (grammY); `apiRoot` points it at an emulator in tests. */
export function createTelegramBot(settings: TelegramSettings): Bot {
  return new Bot(settings.token, {
    client: { ...(settings.apiRoot ? { apiRoot: settings.apiRoot } : {}), timeoutSeconds: 15 },
  });
}

/** Commands: /start and /menu show the menu; /lang en|ru; /subscribe (admin) sends release cards here. */
function commands(deps: AppDeps): Composer<Context> {
  const c = new Composer<Context>();
  c.command(["start", "menu"], async (ctx) => {
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    const locale = member?.locale ?? localeFrom(ctx.from?.language_code);
    if (!member) {
      await ctx.reply(translate(locale, "refuse.not_a_member", { id: ctx.from!.id }));
      return;
    }
    const menu = renderMenu(locale);
    const markup = await deps.callbacks.issue(ctx.chat.id, menu, null);
    await ctx.reply(menu.text, markup ? { reply_markup: markup } : {});
  });
  c.command("lang", async (ctx) => {
    const locale = ctx.match.trim() === "ru" ? "ru" : "en";
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    if (!member) return;
    if (ctx.chat.type === "private") await deps.members.setLocale(member.telegramId, locale);
    await deps.outbox.writeChat({ chatId: ctx.chat.id, locale });
    await ctx.reply(translate(locale, "lang.set"));
  });
  c.command("subscribe", async (ctx) => {
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    const locale = member?.locale ?? "en";
    if (!member?.roles.includes("admin")) {
      await ctx.reply(translate(locale, "refuse.generic", { message: "only an admin can subscribe a chat" }));
      return;
    }
    await deps.outbox.writeChat({ chatId: ctx.chat.id, receivesReleases: true });
    await ctx.reply(translate(locale, "chat.subscribed"));
  });
  return c;
}

function buttons(press: PressHandler): Composer<Context> {
  const c = new Composer<Context>();
  c.on("callback_query:data", async (ctx) => {
    const q = ctx.callbackQuery;
    const answer = await press.handle({
      chatId: q.message?.chat.id ?? ctx.from.id,
      messageId: q.message?.message_id,
      fromId: ctx.from.id,
      languageCode: ctx.from.language_code,
      data: q.data,
      traceId: randomUUID(),
    });
    await ctx.answerCallbackQuery(answer.text ? { text: answer.text, show_alert: answer.alert } : {});
  });
  c.on("message:text", async (ctx) => {
    const reply = await press.handleReason({
      chatId: ctx.chat.id,
      fromId: ctx.from.id,
      languageCode: ctx.from.language_code,
      text: ctx.message.text,
      replyToMessageId: ctx.message.reply_to_message?.message_id,
      traceId: randomUUID(),
    });
    if (reply) await ctx.reply(reply, { reply_parameters: { message_id: ctx.message.message_id } });
  });
  return c;
}

/** Wires the features onto the bot, with one error boundary: errors are logged (token-free), never thrown. */
export function installHandlers(bot: Bot, deps: AppDeps, press: PressHandler): void {
  bot.use(commands(deps));
  bot.use(buttons(press));
  bot.catch(async (err) => {
    deps.logger.error("telegram update failed", { update: err.ctx.update.update_id, err: err.error });
    if (err.ctx.callbackQuery) {
      await err.ctx.answerCallbackQuery({ text: "relctl: internal error", show_alert: true }).catch(() => {});
    }
  });
}
