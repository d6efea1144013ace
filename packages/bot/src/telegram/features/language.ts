import { Composer, type Context } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import { translate } from "../../i18n.js";

/** /lang en|ru: the chat's language, and in a private chat the member's own. */
export function languageFeature(deps: AppDeps): Composer<Context> {
  const c = new Composer<Context>();
  c.command("lang", async (ctx) => {
    const locale = ctx.match.trim() === "ru" ? "ru" : "en";
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    if (!member) return;
    if (ctx.chat.type === "private") await deps.members.setLocale(member.telegramId, locale);
    await deps.outbox.writeChat({ chatId: ctx.chat.id, locale });
    await ctx.reply(translate(locale, "lang.set"));
  });
  return c;
}
