import { Composer, type Context } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import { localeFrom, translate } from "../../i18n.js";
import { renderMenu } from "../render-card.js";

/** /start and /menu: a member gets the menu of release lists; anyone else, their Telegram id. */
export function menuFeature(deps: AppDeps): Composer<Context> {
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
  return c;
}
