import { SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { inSpan, tracingEnabled } from "@relctl/core";
import type { Api, Bot, Context, Transformer } from "grammy";

/**
 * A span per Telegram update (`telegram callback_query`, `telegram message`): what the update
 * starts (a use-case, its database statements, the Bot API calls) is its child. Under the webhook
 * it is the child of the request's SERVER span. Installed only when an SDK is registered.
 */
export function traceUpdates(bot: Bot): void {
  if (!tracingEnabled()) return;
  bot.use((ctx: Context, next) => {
    const type = Object.keys(ctx.update).find((k) => k !== "update_id") ?? "update";
    return inSpan(
      `telegram ${type}`,
      {
        attributes: {
          "telegram.update_id": ctx.update.update_id,
          "telegram.update.type": type,
          ...(ctx.chat ? { "telegram.chat.id": ctx.chat.id } : {}),
        },
      },
      () => next(),
    );
  });
}

/**
 * A CLIENT span per Bot API call (`telegram sendMessage`), through grammY's API transformer; long
 * polling's getUpdates gets none (it waits, and would be a trace every poll).
 */
export function traceApiCalls(api: Api, apiRoot = "https://api.telegram.org"): void {
  if (!tracingEnabled()) return;
  const tracer = trace.getTracer("relctl");
  const host = new URL(apiRoot).hostname;
  const transformer: Transformer = async (prev, method, payload, signal) => {
    if (method === "getUpdates") return prev(method, payload, signal);
    return tracer.startActiveSpan(
      `telegram ${method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system.name": "telegram",
          "rpc.method": method,
          "http.request.method": "POST",
          "server.address": host,
        },
      },
      async (span) => {
        try {
          const res = await prev(method, payload, signal);
          if (res.ok) span.setStatus({ code: SpanStatusCode.OK });
          else {
            span.setAttribute("telegram.error_code", res.error_code);
            span.setStatus({ code: SpanStatusCode.ERROR, message: res.description });
          }
          return res;
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      },
    );
  };
  api.config.use(transformer);
}

/** What a Bot API call is counted as: "ok", Telegram's error code ("429", "400"), or "network". */
export type TelegramCallResult = string;

/**
 * Counts and times every Bot API call (metrics, whatever the tracing): `onCall` hears its method,
 * its result and how long it took. Long polling's getUpdates is left out (it waits by design).
 */
export function observeApiCalls(
  api: Api,
  onCall: (method: string, result: TelegramCallResult, seconds: number) => void,
): void {
  const transformer: Transformer = async (prev, method, payload, signal) => {
    if (method === "getUpdates") return prev(method, payload, signal);
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    try {
      const res = await prev(method, payload, signal);
      onCall(method, res.ok ? "ok" : String(res.error_code), took());
      return res;
    } catch (err) {
      onCall(method, "network", took());
      throw err;
    }
  };
  api.config.use(transformer);
}
