import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  /** The JSON body parsed, the text when it is not JSON, undefined when empty. */
  readonly body: unknown;
}

/** A JSON answer (`body`; none when undefined), or an HTML page (`html`). */
export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly html?: string;
  /** Response headers besides content-type (retry-after, x-ratelimit-remaining, …). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** undefined: 404 Not Found. */
export type Handler = (request: RecordedRequest) => Answer | undefined | Promise<Answer | undefined>;

export interface LoopbackServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers the next `times` requests matching method and path with `answer`, before any route. */
  failNext(method: string, path: RegExp, answer: Answer, times?: number): void;
  close(): Promise<void>;
}

function readRequest(req: IncomingMessage): Promise<RecordedRequest> {
  return new Promise((resolve, reject) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("error", reject);
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      resolve({
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      });
    });
  });
}

function send(res: ServerResponse, answer: Answer): void {
  const headers = answer.headers ?? {};
  if (answer.html !== undefined) {
    res.writeHead(answer.status, { ...headers, "content-type": "text/html" }).end(answer.html);
  } else if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end();
  } else {
    res
      .writeHead(answer.status, { ...headers, "content-type": "application/json" })
      .end(JSON.stringify(answer.body));
  }
}

/**
 * An HTTP server on 127.0.0.1 that records every request and answers with `handler` (a handler
 * that throws answers 500), after the answers a test forced with `failNext`.
 */
export async function startLoopbackServer(handler: Handler): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const failures: { method: string; path: RegExp; answer: Answer; left: number }[] = [];
  const answer = async (request: RecordedRequest): Promise<Answer | undefined> => {
    const failure = failures.find(
      (f) => f.left > 0 && f.method === request.method && f.path.test(request.path),
    );
    if (failure) {
      failure.left--;
      return failure.answer;
    }
    try {
      return await handler(request);
    } catch (err) {
      return { status: 500, body: { message: (err as Error).message } };
    }
  };
  const server = createServer(async (req, res) => {
    const request = await readRequest(req).catch(() => undefined);
    if (!request) return void res.destroy();
    requests.push(request);
    send(res, (await answer(request)) ?? { status: 404, body: { message: "Not Found" } });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(method, path, failure, times = 1) {
      failures.push({ method, path, answer: failure, left: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
