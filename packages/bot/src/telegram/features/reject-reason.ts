import { randomUUID } from "node:crypto";
import { activeTraceRef } from "@relctl/core";
import { Composer, type Context } from "grammy";
import type { PressHandler } from "../press-handler.js";

/** A text message that may answer a Reject button's question: the reason, replied to in the chat. */
export function rejectReasonFeature(press: PressHandler): Composer<Context> {
  const c = new Composer<Context>();
  c.on("message:text", async (ctx) => {
    await press.handleReason({
      chatId: ctx.chat.id,
      fromId: ctx.from.id,
      languageCode: ctx.from.language_code,
      text: ctx.message.text,
      messageId: ctx.message.message_id,
      replyToMessageId: ctx.message.reply_to_message?.message_id,
      traceId: activeTraceRef()?.traceId ?? randomUUID(),
    });
  });
  return c;
}
