import type { Member } from "@relctl/core";
import { statusesIn } from "@relctl/core";
import { Composer } from "grammy";
import type { AppDeps } from "../../app-deps.js";
import type { LocalizedContext } from "../../i18n.js";
import { LIST_LIMIT, MENU_GROUPS, type MenuGroup, renderMenu } from "../render-card.js";

/** The releases of one menu list a member sees (their services only), newest first, and how many. */
export async function menuList(
  deps: AppDeps,
  member: Member,
  group: MenuGroup,
): Promise<{ releases: Awaited<ReturnType<AppDeps["store"]["listReleases"]>>; total: number }> {
  const all = await deps.store.listReleases({ statuses: statusesIn(group), limit: 1000 });
  const visible = all.filter((r) => member.services.length === 0 || member.services.includes(r.service));
  return { releases: visible.slice(0, LIST_LIMIT), total: visible.length };
}

export async function menuCounts(deps: AppDeps, member: Member): Promise<Record<MenuGroup, number>> {
  const counts = {} as Record<MenuGroup, number>;
  for (const group of MENU_GROUPS) counts[group] = (await menuList(deps, member, group)).total;
  return counts;
}

/** /start and /menu: a member gets the menu of release lists; anyone else, their Telegram id. */
export function menuFeature(deps: AppDeps): Composer<LocalizedContext> {
  const c = new Composer<LocalizedContext>();
  c.command(["start", "menu"], async (ctx) => {
    const member = await deps.members.findByTelegramId(ctx.from!.id);
    if (!member) {
      await ctx.reply(ctx.t("refuse.not_a_member", { id: ctx.from!.id }));
      return;
    }
    const menu = renderMenu(member.locale, await menuCounts(deps, member));
    const markup = await deps.callbacks.issue(ctx.chat.id, menu, null);
    await ctx.reply(menu.text, markup ? { reply_markup: markup } : {});
  });
  c.command("help", async (ctx) => {
    await ctx.reply(ctx.t("help.text"));
  });
  return c;
}
