import { type Span, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Sql } from "postgres";
import { inSpan } from "../../telemetry.js";

/**
 * postgres.js has no OpenTelemetry instrumentation; this wraps a client so that each transaction
 * (`sql.begin`) and each statement run through a tagged template or `unsafe` gets a CLIENT span by
 * the database semantic conventions (db.system.name, db.operation.name, db.collection.name and
 * db.query.summary; never the parameters). A statement's span starts when it is awaited (that is
 * when postgres.js sends it), so a fragment inside another statement gets none. Only within an
 * operation (an active span): the pollers' statements (outbox, deploy worker) start no traces.
 * Installed only when an SDK is registered (see openDatabase).
 */
export function tracedSql<T extends Sql>(sql: T): T {
  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const result = Reflect.apply(target as unknown as (...a: unknown[]) => unknown, thisArg, args);
      const strings = args[0];
      return Array.isArray(strings) && "raw" in strings ? traceQuery(result, strings.join("?")) : result;
    },
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "unsafe") {
        return (query: string, ...rest: unknown[]) =>
          traceQuery((value as (...a: unknown[]) => unknown)(query, ...rest), query);
      }
      if (prop === "begin") {
        return (...args: unknown[]) => {
          const fn = args[args.length - 1] as (tx: Sql) => unknown;
          const options = args.length > 1 ? [args[0]] : [];
          if (!trace.getActiveSpan()) return (value as (...a: unknown[]) => unknown)(...args);
          const attributes = { "db.system.name": "postgresql", "db.operation.name": "TRANSACTION" };
          return inSpan("transaction", { kind: SpanKind.CLIENT, attributes }, () =>
            (value as (...a: unknown[]) => Promise<unknown>)(...options, (tx: Sql) => fn(tracedSql(tx))),
          );
        };
      }
      return value;
    },
  });
}

/** The statement's first keyword and the table it names first, for the span's name. */
export function querySummary(text: string): { operation: string; collection?: string } {
  const flat = text
    .replace(/--[^\n]*/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  const operation = (/^\(?\s*([A-Za-z]+)/.exec(flat)?.[1] ?? "QUERY").toUpperCase();
  const table = /\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+(?:ONLY\s+)?("?[A-Za-z_][\w.]*"?)/i
    .exec(flat)?.[1]
    ?.replace(/"/g, "");
  return table ? { operation, collection: table } : { operation };
}

function traceQuery(query: unknown, text: string): unknown {
  if (!query || typeof (query as PromiseLike<unknown>).then !== "function") return query;
  const q = query as PromiseLike<unknown> & { then: PromiseLike<unknown>["then"] };
  const then = q.then;
  let span: Span | undefined;
  // biome-ignore lint/suspicious/noThenProperty: the statement's own then, wrapped: awaiting it starts the span.
  q.then = function (this: unknown, onFulfilled, onRejected) {
    if (!span && trace.getActiveSpan()) {
      const { operation, collection } = querySummary(text);
      const name = collection ? `${operation} ${collection}` : operation;
      span = trace.getTracer("relctl").startSpan(name, {
        kind: SpanKind.CLIENT,
        attributes: {
          "db.system.name": "postgresql",
          "db.operation.name": operation,
          "db.query.summary": name,
          ...(collection ? { "db.collection.name": collection } : {}),
        },
      });
      const s = span;
      return then.call(
        q,
        (value: unknown) => {
          s.setStatus({ code: SpanStatusCode.OK });
          s.end();
          return onFulfilled ? onFulfilled(value as never) : value;
        },
        (err: unknown) => {
          s.recordException(err as Error);
          s.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
          s.end();
          if (onRejected) return onRejected(err);
          throw err;
        },
      ) as never;
    }
    return then.call(q, onFulfilled, onRejected) as never;
  };
  return q;
}
