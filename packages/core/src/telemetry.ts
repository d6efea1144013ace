import { randomBytes } from "node:crypto";
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

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

/** The context whose parent is `parent` (a span of this process or another one's). */
function contextOf(parent: TraceRef | undefined, fallback: Context = ROOT_CONTEXT): Context {
  return parent && TRACE_ID.test(parent.traceId) && SPAN_ID.test(parent.spanId)
    ? trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: 1,
        isRemote: true,
      })
    : fallback;
}

/** A child span of the operation (e.g. one runbook step). */
export function startChildSpan(
  name: string,
  parent: TraceRef | undefined,
  attributes: Record<string, string | number>,
): Span {
  return trace.getTracer("relctl").startSpan(name, { attributes }, contextOf(parent));
}

/** A W3C traceparent (`00-<trace>-<span>-<flags>`) given from outside, if well-formed. */
export function parseTraceparent(value: string | null | undefined): TraceRef | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(value?.trim().toLowerCase() ?? "");
  return m && parseTraceId(m[1]) && !/^0+$/.test(m[2]!) ? { traceId: m[1]!, spanId: m[2]! } : undefined;
}

/** The ref of a span, when it records (with no SDK registered it is a no-op span: none). */
export function refOf(span: Span): TraceRef | undefined {
  const ctx = span.spanContext();
  return span.isRecording() && trace.isSpanContextValid(ctx)
    ? { traceId: ctx.traceId, spanId: ctx.spanId }
    : undefined;
}

export interface SpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** The parent; without one, the active span (none: a new trace). */
  readonly parent?: TraceRef | undefined;
}

/**
 * Runs `fn` in a span that is active meanwhile (spans started inside are its children); an error
 * thrown is recorded on it (status ERROR) and thrown on. `fn` may set the status itself.
 */
export async function inSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = contextOf(options.parent, context.active());
  const span = trace
    .getTracer("relctl")
    .startSpan(
      name,
      { ...(options.kind !== undefined ? { kind: options.kind } : {}), attributes: options.attributes ?? {} },
      parent,
    );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A use-case's span, a child of the actor's operation (or of the active span): `fn` gets the actor
 * with this span as its parent span, so what the use-case stores or starts continues from here,
 * and the span (to set what the use-case came to).
 */
export function inUseCaseSpan<T, A extends { readonly traceId?: string; readonly spanId?: string }>(
  name: string,
  actor: A,
  attributes: Attributes,
  fn: (actor: A, span: Span) => Promise<T>,
): Promise<T> {
  const parent = actor.traceId && actor.spanId ? { traceId: actor.traceId, spanId: actor.spanId } : undefined;
  return inSpan(name, { parent, attributes }, (span) => {
    const ref = refOf(span);
    return fn(ref ? { ...actor, traceId: ref.traceId, spanId: ref.spanId } : actor, span);
  });
}

let tracing = false;

/**
 * Set by an entry point that registered an SDK: instrumentation that costs something per call
 * (database statements, Bot API and GitHub calls) is installed only then.
 */
export function enableTracing(on = true): void {
  tracing = on;
}

export function tracingEnabled(): boolean {
  return tracing;
}

export { SpanKind, SpanStatusCode };

export function endSpan(span: Span, ok: boolean, message?: string): void {
  span.setStatus(
    ok ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, ...(message ? { message } : {}) },
  );
  span.end();
}
