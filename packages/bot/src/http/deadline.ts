import type { FastifyInstance, FastifyRequest } from "fastify";
import type { RequestSituation } from "./http-errors.js";

declare module "fastify" {
  interface FastifyRequest {
    deadline?: RequestDeadline;
  }
  interface FastifyContextConfig {
    /**
     * Every write of the route runs in one inWriteTransaction (write-transaction.ts): until its COMMIT is sent, a
     * passed deadline rolls it back, so the deadline's answer can say it changed nothing.
     */
    commitGate?: boolean;
    /** The route checks the bearer token in its own transaction; the request hook only reads it. */
    tokenInTransaction?: boolean;
  }
}

/** What a request has done by the time its deadline passes or it fails. */
export class RequestDeadline {
  passed = false;
  handlerStarted = false;
  /** The route's one transaction has sent (or is about to send) its COMMIT. */
  committing = false;
  /** Undefined for a request without a deadline (the Telegram webhook, or none configured). */
  constructor(readonly ms: number | undefined) {}
}

/** What the deadline answers with; the one error handler turns it into a 503. */
export class DeadlineExceeded extends Error {
  readonly code = "RELCTL_DEADLINE_EXCEEDED";
  constructor(readonly ms: number) {
    super(`the request did not finish within ${ms} ms`);
  }
}

/**
 * A deadline of `ms` for every request but those `exempt` says (none when `ms` is undefined):
 * when it passes before the answer, the request is answered through the error handler (fastify's
 * `reply.send(error)`) and whatever is still running is left to finish or fail unseen; a handler
 * not started by then never starts. Every request records how far it got, for the error handler.
 * (Fastify's own handlerTimeout cannot serve: Node emits the request's `close` once its body is
 * read, which clears that timer for every request with a body.)
 */
export function installRequestDeadline(
  app: FastifyInstance,
  ms: number | undefined,
  exempt: (route: string) => boolean,
): void {
  app.addHook("onRequest", (req, reply, done) => {
    const limit = ms !== undefined && !exempt(req.routeOptions.url ?? req.url) ? ms : undefined;
    const deadline = new RequestDeadline(limit);
    req.deadline = deadline;
    if (limit !== undefined) {
      const timer = setTimeout(() => {
        if (reply.sent || reply.raw.headersSent) return;
        deadline.passed = true;
        reply.send(new DeadlineExceeded(limit));
      }, limit);
      reply.raw.once("close", () => clearTimeout(timer));
    }
    done();
  });
  app.addHook("preHandler", (req, _reply, done) => {
    if (req.deadline) req.deadline.handlerStarted = true;
    done();
  });
}

/** The request as the error handler needs it to say whether a failed write may have been applied. */
export function situationOf(req: FastifyRequest): RequestSituation {
  const deadline = req.deadline;
  const write = !["GET", "HEAD", "OPTIONS"].includes(req.method);
  const started = deadline?.handlerStarted ?? true;
  const gated = req.routeOptions.config?.commitGate === true;
  return {
    write,
    idempotencyKey: req.headers["idempotency-key"] !== undefined,
    handlerStarted: started,
    mayHaveCommitted: write && started && (!gated || (deadline?.committing ?? true)),
  };
}
