import { Composer } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import type { LocalizedContext } from "../../i18n.js";

/** /subscribe: an admin has release cards and notices sent to this chat. */
export function subscribeFeature(deps: AppDeps): Composer<LocalizedContext> {
  const c = new Composer<LocalizedContext>();
  c.command("subscribe", async (ctx) => {
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    if (!member?.roles.includes("admin")) {
      await ctx.reply(ctx.t("refuse.subscribe_admin"));
      return;
    }
    await deps.outbox.writeChat({ chatId: ctx.chat.id, receivesReleases: true });
    await ctx.reply(ctx.t("chat.subscribed"));
  });
  return c;
}
