import { randomUUID } from "node:crypto";
import { activeTraceRef } from "@relctl/core";
import { Composer, type Context } from "grammy";
import type { PressHandler } from "../press-handler.js";

/** A text message that may answer a Reject button's question: the reason, replied to in the chat. */
export function rejectReasonFeature(press: PressHandler): Composer<Context> {
  const c = new Composer<Context>();
  c.on("message:text", async (ctx) => {
    const reply = await press.handleReason({
      chatId: ctx.chat.id,
      fromId: ctx.from.id,
      languageCode: ctx.from.language_code,
      text: ctx.message.text,
      replyToMessageId: ctx.message.reply_to_message?.message_id,
      traceId: activeTraceRef()?.traceId ?? randomUUID(),
    });
    if (reply) await ctx.reply(reply, { reply_parameters: { message_id: ctx.message.message_id } });
  });
  return c;
}
