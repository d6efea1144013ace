import { Composer } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import type { LocalizedContext } from "../../i18n.js";

/** /lang en|ru: the chat's language, and in a private chat the member's own. */
export function languageFeature(deps: AppDeps): Composer<LocalizedContext> {
  const c = new Composer<LocalizedContext>();
  c.command("lang", async (ctx) => {
    const locale = ctx.match.trim() === "ru" ? "ru" : "en";
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    if (!member) return;
    if (ctx.chat.type === "private") await deps.members.setLocale(member.telegramId, locale);
    await deps.outbox.writeChat({ chatId: ctx.chat.id, locale });
    // The answer is in the language just chosen (the chat's, which a group's member may not keep).
    ctx.i18n.useLocale(locale);
    await ctx.reply(ctx.t("lang.set"));
  });
  return c;
}
