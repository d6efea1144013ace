import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingMessage["headers"];
  readonly body: unknown;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
}

export type Handler = (request: RecordedRequest) => Answer | undefined;

export interface LoopbackServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Answers the next `times` requests matching method and path with `answer`, before any route. */
  failNext(method: string, path: RegExp, answer: Answer, times?: number): void;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that records every request and answers with `handler`. */
export async function startLoopbackServer(handler: Handler): Promise<LoopbackServer> {
  const requests: RecordedRequest[] = [];
  const failures: { method: string; path: RegExp; answer: Answer; left: number }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.on("data", (d) => (text += d));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = text;
      }
      const request: RecordedRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body,
      };
      requests.push(request);
      const failure = failures.find(
        (f) => f.left > 0 && f.method === request.method && f.path.test(request.path),
      );
      let answer: Answer | undefined;
      if (failure) {
        failure.left--;
        answer = failure.answer;
      } else {
        try {
          answer = handler(request);
        } catch (err) {
          answer = { status: 500, body: { message: (err as Error).message } };
        }
      }
      const a = answer ?? { status: 404, body: { message: "Not Found" } };
      res.writeHead(a.status, { "content-type": "application/json" });
      res.end(a.body === undefined ? "" : JSON.stringify(a.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(method, path, answer, times = 1) {
      failures.push({ method, path, answer, left: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
