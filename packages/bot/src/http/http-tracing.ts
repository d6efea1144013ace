import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { tracingEnabled } from "@relctl/core";
import type { FastifyInstance, FastifyRequest } from "fastify";

const spans = new WeakMap<FastifyRequest, { span: Span; ctx: Context }>();

/**
 * A SERVER span per HTTP request, by the HTTP semantic conventions (http.request.method, url.path,
 * http.route, http.response.status_code), continuing the caller's `traceparent`. The route's
 * handler runs with it active, so a use-case, a Telegram update posted to the webhook and the
 * database statements they make are its children. Installed only when an SDK is registered; call
 * it before any route is added.
 */
export function installHttpTracing(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  const tracer = trace.getTracer("relctl");
  app.addHook("onRequest", (req, _reply, done) => {
    const route = req.routeOptions.url;
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const path = req.url.split("?")[0]!;
    const span = tracer.startSpan(
      route ? `${req.method} ${route}` : req.method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": req.method,
          "url.path": path,
          "url.scheme": req.protocol,
          ...(route ? { "http.route": route } : {}),
          ...(req.headers["user-agent"] ? { "user_agent.original": req.headers["user-agent"] } : {}),
          "client.address": req.ip,
        },
      },
      parent,
    );
    const ctx = trace.setSpan(parent, span);
    spans.set(req, { span, ctx });
    context.with(ctx, done);
  });
  // A body arrives on the socket's events, outside the hooks' context: the handler is entered in it.
  app.addHook("onRoute", (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      const entry = spans.get(req);
      return entry
        ? context.with(entry.ctx, () => handler.call(this, req, reply))
        : handler.call(this, req, reply);
    };
  });
  const end = (req: FastifyRequest, status?: number) => {
    const entry = spans.get(req);
    if (!entry) return;
    spans.delete(req);
    if (status !== undefined) {
      entry.span.setAttribute("http.response.status_code", status);
      if (status >= 500) entry.span.setStatus({ code: SpanStatusCode.ERROR });
    } else entry.span.setStatus({ code: SpanStatusCode.ERROR, message: "request aborted" });
    entry.span.end();
  };
  app.addHook("onResponse", async (req, reply) => end(req, reply.statusCode));
  app.addHook("onRequestAbort", async (req) => end(req));
}

/** The request's span as a trace ref (for the actor a route acts as), when it is traced. */
export function requestSpanRef(req: FastifyRequest): { traceId: string; spanId: string } | undefined {
  const ctx = spans.get(req)?.span.spanContext();
  return ctx ? { traceId: ctx.traceId, spanId: ctx.spanId } : undefined;
}
