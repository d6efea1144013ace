import { readFileSync } from "node:fs";
import { join } from "node:path";
import { enableTracing } from "@relctl/core";

/** This package's version (service.version): package.json sits one folder above src/ and dist/. */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "..", "package.json"), "utf8"));
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * Exports `relctl serve`'s traces over OTLP/HTTP when a collector is configured: the standard
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT (the seed's OTLP_HOST/OTLP_PORT
 * too, as the CLI reads them), OTEL_EXPORTER_OTLP_HEADERS and the OTEL_BSP_* batch settings as the
 * exporter reads them; OTEL_SERVICE_NAME (default relctl-serve); OTEL_RESOURCE_ATTRIBUTES. The
 * resource carries service.name and service.version. Unconfigured (or OTEL_SDK_DISABLED=true,
 * OTEL_TRACES_EXPORTER=none) the SDK is never loaded and no span costs anything.
 * Only traces: metrics are Prometheus's (/metrics), logs are JSON lines.
 */
export async function startServeTelemetry(env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  const otlpHost = env.OTLP_HOST ? `http://${env.OTLP_HOST}:${env.OTLP_PORT ?? "4318"}` : undefined;
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || otlpHost;
  if (!endpoint || env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") {
    return async () => {};
  }
  const [{ NodeSDK }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import("@opentelemetry/sdk-node"),
    import("@opentelemetry/exporter-trace-otlp-http"),
    import("@opentelemetry/resources"),
  ]);
  const exporter = new OTLPTraceExporter(
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? {}
      : { url: `${otlpHost}/v1/traces` },
  );
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME || "relctl-serve",
    resource: resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME || "relctl-serve",
      "service.version": packageVersion(),
    }),
    traceExporter: exporter,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  enableTracing();
  return async () => {
    enableTracing(false);
    await sdk.shutdown().catch(() => {});
  };
}
