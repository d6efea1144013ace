import { Composer, type Context } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import { translate } from "../../i18n.js";

/** /subscribe: an admin has release cards and notices sent to this chat. */
export function subscribeFeature(deps: AppDeps): Composer<Context> {
  const c = new Composer<Context>();
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
