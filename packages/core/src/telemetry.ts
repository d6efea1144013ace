import { randomBytes } from "node:crypto";
import { ROOT_CONTEXT, type Span, SpanStatusCode, trace } from "@opentelemetry/api";

/**
 * One trace id follows an operation from its door (CLI call, API request, Telegram press) to the
 * commands on the servers: it is stored with audit events and runs, and reaches every remote
 * command as RELCTL_TRACE_ID and a W3C TRACEPARENT. Spans go through the OpenTelemetry API: with
 * no SDK registered they cost nothing; an entry point that registers one exports them.
 */
export interface TraceRef {
  readonly traceId: string;
  readonly spanId: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;

export function newTraceRef(): TraceRef {
  return { traceId: randomBytes(16).toString("hex"), spanId: randomBytes(8).toString("hex") };
}

/** A trace id given from outside (an env variable, a header) is used only if well-formed. */
export function parseTraceId(value: string | undefined): string | undefined {
  const v = value?.trim().toLowerCase();
  return v && TRACE_ID.test(v) && !/^0+$/.test(v) ? v : undefined;
}

export function traceparentOf(ref: TraceRef): string {
  return `00-${ref.traceId}-${ref.spanId}-01`;
}

/** The trace and span of the active span, if one is active (for log lines). */
export function activeTraceRef(): TraceRef | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context && trace.isSpanContextValid(context)
    ? { traceId: context.traceId, spanId: context.spanId }
    : undefined;
}

/** The span of a whole operation, with the trace id the operation carries. */
export function startOperationSpan(name: string, traceId?: string): { span: Span; ref: TraceRef } {
  const span = trace.getTracer("relctl").startSpan(name);
  const ctx = span.spanContext();
  if (ctx.traceId !== "0".repeat(32) && TRACE_ID.test(ctx.traceId)) {
    return { span, ref: { traceId: ctx.traceId, spanId: ctx.spanId } };
  }
  const ref = newTraceRef();
  return { span, ref: traceId ? { ...ref, traceId } : ref };
}

/** A child span of the operation (e.g. one runbook step). */
export function startChildSpan(
  name: string,
  parent: TraceRef | undefined,
  attributes: Record<string, string | number>,
): Span {
  const ctx =
    parent && TRACE_ID.test(parent.traceId) && SPAN_ID.test(parent.spanId)
      ? trace.setSpanContext(ROOT_CONTEXT, {
          traceId: parent.traceId,
          spanId: parent.spanId,
          traceFlags: 1,
          isRemote: true,
        })
      : ROOT_CONTEXT;
  return trace.getTracer("relctl").startSpan(name, { attributes }, ctx);
}

export function endSpan(span: Span, ok: boolean, message?: string): void {
  span.setStatus(
    ok ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, ...(message ? { message } : {}) },
  );
  span.end();
}
