import {
  type Answer,
  type LoopbackServer,
  type RecordedRequest,
  startLoopbackServer,
} from "./loopback-server.js";

export interface TelegramCall {
  readonly token: string;
  readonly method: string;
  readonly body: Record<string, unknown>;
  /** The HTTP status the emulator answered with. */
  status: number;
  /** When it arrived (ms since the epoch). */
  readonly at: number;
}

export interface EmulatedMessage {
  readonly chatId: number;
  readonly messageId: number;
  text: string;
  buttons: { text: string; data: string }[][];
  edits: number;
  /** Who sent it, when a person did (see receive); the bot's own messages have none. */
  readonly from?: number;
}

/** An answer the test forces for a call (e.g. 429 with retry_after, or a 502 page). */
export type ForcedReply =
  | { readonly status: number; readonly json: Record<string, unknown> }
  | { readonly status: number; readonly html: string };

/** What Telegram answers when it limits a bot: 429, retry after `seconds`. */
export function tooManyRequests(seconds = 1): ForcedReply {
  return {
    status: 429,
    json: {
      ok: false,
      error_code: 429,
      description: `Too Many Requests: retry after ${seconds}`,
      parameters: { retry_after: seconds },
    },
  };
}

/** The HTML page a proxy in front of Telegram answers when Telegram does not. */
export function badGateway(): ForcedReply {
  return { status: 502, html: "<html><body><h1>502 Bad Gateway</h1></body></html>" };
}

/** Telegram refusing a call for good (400), as for a chat the bot is not in. */
export function badRequest(description: string): ForcedReply {
  return { status: 400, json: { ok: false, error_code: 400, description: `Bad Request: ${description}` } };
}

/**
 * The Telegram Bot API on loopback: records every call, keeps the chats' messages (sent and edited),
 * and answers what a test scripts (429 with retry_after, 5xx) before behaving like Telegram.
 */
export class TelegramEmulator {
  readonly calls: TelegramCall[] = [];
  readonly messages = new Map<string, EmulatedMessage>();
  /** The people's messages (receive), in order, deleted ones too. */
  readonly received: EmulatedMessage[] = [];
  /** Consulted first for every call; return undefined to answer normally. */
  script: ((call: TelegramCall) => ForcedReply | undefined) | undefined;
  private server: LoopbackServer | undefined;
  private nextId = 1000;
  /** Groups where the bot is an admin with the right to delete messages (see grantDeleteRight). */
  private readonly canDelete = new Set<number>();

  get url(): string {
    return this.server?.url ?? "";
  }

  async start(): Promise<this> {
    this.server = await startLoopbackServer((req) => this.handle(req));
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.close();
  }

  /**
   * A person's message arrives in a chat: it is kept like the bot's (the test then delivers its
   * update to the bot, with this message_id) and has the next id.
   */
  receive(chatId: number, fromId: number, text: string): EmulatedMessage {
    const msg: EmulatedMessage = {
      chatId,
      messageId: this.nextId++,
      text,
      buttons: [],
      edits: 0,
      from: fromId,
    };
    this.messages.set(`${chatId}:${msg.messageId}`, msg);
    this.received.push(msg);
    return msg;
  }

  /**
   * Makes the bot an admin of a group with the right to delete messages (or takes it away). As on
   * Telegram, a bot deletes its own messages anywhere and a person's in a private chat; a person's
   * in a group only with this right, else deleteMessage answers 400.
   */
  grantDeleteRight(chatId: number, granted = true): void {
    if (granted) this.canDelete.add(chatId);
    else this.canDelete.delete(chatId);
  }

  /** Successful sendMessage calls to a chat, in order. */
  sent(chatId: number): TelegramCall[] {
    return this.calls.filter(
      (c) => c.method === "sendMessage" && c.status === 200 && Number(c.body.chat_id) === chatId,
    );
  }

  /** The ids of the messages deleted in a chat (successful deleteMessage calls), in order. */
  deleted(chatId: number): number[] {
    return this.calls
      .filter((c) => c.method === "deleteMessage" && c.status === 200 && Number(c.body.chat_id) === chatId)
      .map((c) => Number(c.body.message_id));
  }

  /** The messages a chat shows now: every one sent there and not deleted, oldest first. */
  chatMessages(chatId: number): EmulatedMessage[] {
    return [...this.messages.values()]
      .filter((m) => m.chatId === chatId)
      .sort((a, b) => a.messageId - b.messageId);
  }

  /** The callback data of the button whose label matches, on a given message. */
  button(chatId: number, messageId: number, label: RegExp): string {
    const m = this.messages.get(`${chatId}:${messageId}`);
    const b = m?.buttons.flat().find((x) => label.test(x.text));
    if (!b) throw new Error(`no button ${label} on ${chatId}:${messageId}: ${JSON.stringify(m?.buttons)}`);
    return b.data;
  }

  answers(): TelegramCall[] {
    return this.calls.filter((c) => c.method === "answerCallbackQuery");
  }

  private async handle(req: RecordedRequest): Promise<Answer> {
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(req.path);
    if (!m) return { status: 404, body: { ok: false, error_code: 404, description: "Not Found" } };
    const call: TelegramCall = {
      token: m[1]!,
      method: m[2]!,
      body: typeof req.body === "object" && req.body !== null ? (req.body as Record<string, unknown>) : {},
      status: 0,
      at: Date.now(),
    };
    this.calls.push(call);
    const forced = this.script?.(call);
    if (forced) {
      call.status = forced.status;
      return "html" in forced ? forced : { status: forced.status, body: forced.json };
    }
    if (call.method === "getUpdates") {
      // Long polling: hold the request a little, then answer that nothing happened.
      await new Promise((r) => setTimeout(r, 300));
    }
    const [status, body] = this.answer(call);
    call.status = status;
    return { status, body };
  }

  private answer(call: TelegramCall): [number, Record<string, unknown>] {
    const b = call.body;
    const ok = (result: unknown): [number, Record<string, unknown>] => [200, { ok: true, result }];
    const bad = (description: string): [number, Record<string, unknown>] => [
      400,
      { ok: false, error_code: 400, description: `Bad Request: ${description}` },
    ];
    switch (call.method) {
      case "getMe":
        return ok({
          id: 4242,
          is_bot: true,
          first_name: "relctl",
          username: "relctl_bot",
          can_join_groups: true,
          can_read_all_group_messages: false,
          supports_inline_queries: false,
        });
      case "sendMessage": {
        const chatId = Number(b.chat_id);
        const msg: EmulatedMessage = {
          chatId,
          messageId: this.nextId++,
          text: String(b.text),
          buttons: keyboard(b.reply_markup),
          edits: 0,
        };
        this.messages.set(`${chatId}:${msg.messageId}`, msg);
        return ok(this.wire(msg));
      }
      case "editMessageText": {
        const msg = this.messages.get(`${Number(b.chat_id)}:${Number(b.message_id)}`);
        if (!msg) return bad("message to edit not found");
        const buttons = keyboard(b.reply_markup);
        if (
          msg.text === b.text &&
          JSON.stringify(msg.buttons.map((r) => r.map((x) => x.text))) ===
            JSON.stringify(buttons.map((r) => r.map((x) => x.text)))
        ) {
          msg.buttons = buttons;
          return bad(
            "message is not modified: specified new message content and reply markup are exactly the same",
          );
        }
        msg.text = String(b.text);
        msg.buttons = buttons;
        msg.edits++;
        return ok(this.wire(msg));
      }
      case "editMessageReplyMarkup": {
        const msg = this.messages.get(`${Number(b.chat_id)}:${Number(b.message_id)}`);
        if (!msg) return bad("message to edit not found");
        const buttons = keyboard(b.reply_markup);
        if (
          JSON.stringify(msg.buttons.map((r) => r.map((x) => x.text))) ===
          JSON.stringify(buttons.map((r) => r.map((x) => x.text)))
        ) {
          msg.buttons = buttons;
          return bad(
            "message is not modified: specified new message content and reply markup are exactly the same",
          );
        }
        msg.buttons = buttons;
        msg.edits++;
        return ok(this.wire(msg));
      }
      case "deleteMessage": {
        const chatId = Number(b.chat_id);
        const key = `${chatId}:${Number(b.message_id)}`;
        const msg = this.messages.get(key);
        if (!msg) return bad("message to delete not found");
        if (msg.from !== undefined && chatId < 0 && !this.canDelete.has(chatId))
          return bad("message can't be deleted");
        this.messages.delete(key);
        return ok(true);
      }
      case "getUpdates":
        return ok([]);
      default:
        return ok(true);
    }
  }

  private wire(msg: EmulatedMessage) {
    return {
      message_id: msg.messageId,
      date: Math.floor(Date.now() / 1000),
      chat:
        msg.chatId > 0
          ? { id: msg.chatId, type: "private", first_name: "u" }
          : { id: msg.chatId, type: "group", title: "g" },
      from: { id: 4242, is_bot: true, first_name: "relctl" },
      text: msg.text,
    };
  }
}

function keyboard(markup: unknown): { text: string; data: string }[][] {
  const rows = (markup as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined)
    ?.inline_keyboard;
  return (rows ?? []).map((row) => row.map((b) => ({ text: b.text, data: b.callback_data })));
}
