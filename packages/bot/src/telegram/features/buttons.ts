import { randomUUID } from "node:crypto";
import { activeTraceRef } from "@relctl/core";
import { Composer, type Context } from "grammy";
import type { PressHandler } from "../press-handler.js";

/** Every button press: decided by the press handler, answered on the button. */
export function buttonsFeature(press: PressHandler): Composer<Context> {
  const c = new Composer<Context>();
  c.on("callback_query:data", async (ctx) => {
    const q = ctx.callbackQuery;
    const answer = await press.handle({
      chatId: q.message?.chat.id ?? ctx.from.id,
      messageId: q.message?.message_id,
      fromId: ctx.from.id,
      languageCode: ctx.from.language_code,
      data: q.data,
      traceId: activeTraceRef()?.traceId ?? randomUUID(),
    });
    await ctx.answerCallbackQuery(answer.text ? { text: answer.text, show_alert: answer.alert } : {});
  });
  return c;
}
