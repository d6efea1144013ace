/**
 * Exports traces when an OpenTelemetry collector is configured: the seed's OTLP_HOST/OTLP_PORT
 * (4317 is gRPC, anything else OTLP over HTTP), or the standard OTEL_EXPORTER_OTLP_ENDPOINT.
 * The SDK is loaded only then; without it spans are no-ops.
 */
export async function startTelemetry(env: NodeJS.ProcessEnv): Promise<() => Promise<void>> {
  if (env.OTLP_HOST && !env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    const port = env.OTLP_PORT ?? "4318";
    env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://${env.OTLP_HOST}:${port}`;
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??= port === "4317" ? "grpc" : "http/protobuf";
  }
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return async () => {};
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({ serviceName: env.SERVICE_NAME ?? "relctl" });
  sdk.start();
  return () => sdk.shutdown().catch(() => {});
}
