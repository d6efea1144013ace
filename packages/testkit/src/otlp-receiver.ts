import { createServer } from "node:http";

/** One span as the OTLP/HTTP JSON exporter sends it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

/** OTLP span kinds. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: http://127.0.0.1:<port>. */
  readonly url: string;
  /** Every span received so far, in arrival order. */
  readonly spans: OtlpSpan[];
  /** Each export's resource attributes (string values). */
  readonly resources: Record<string, unknown>[];
  stop(): Promise<void>;
}

/** A span attribute's value (string, int or bool), or undefined. */
export function spanAttribute(span: OtlpSpan, key: string): unknown {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v ? (v.stringValue ?? v.intValue ?? v.boolValue) : undefined;
}

/** A real OTLP/HTTP trace receiver on loopback (POST /v1/traces, JSON), for the exporters' tests. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of payload.resourceSpans) {
          resources.push(
            Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, a.value.stringValue])),
          );
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    resources,
    stop: () => new Promise((r) => server.close(() => r())),
  };
}
