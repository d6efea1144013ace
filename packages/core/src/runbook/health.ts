import type { EnvironmentConfig, EnvironmentHost } from "../config/load.js";
import type { Step } from "../ports/executor.js";

export interface HealthProbeResult {
  readonly ok: boolean;
  readonly status?: number;
  readonly body: string;
  readonly error?: string;
}

/** Probes a URL from relctl's own machine (health `from: relctl`). */
export type HealthProbe = (url: string, timeoutMs: number) => Promise<HealthProbeResult>;

/** The health check as a step run on the host itself (health `from: host`); `probe`: its number. */
export function planHostHealthStep(url: string, timeoutMs: number, probe: number): Step {
  const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
  return {
    id: "health",
    title: `GET ${url}${probe > 1 ? ` (probe ${probe})` : ""}`,
    argv: ["curl", "--fail", "--silent", "--show-error", "--max-time", seconds, "--", url],
    timeoutMs: timeoutMs + 5_000,
  };
}

/** Whether a health body names the release: "v1.2.0" or "1.2.0". */
export function bodyNamesVersion(body: string, tag: string): boolean {
  const bare = tag.replace(/^v(?=\d)/, "");
  return new RegExp(`(^|[^0-9A-Za-z.])v?${bare.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^0-9A-Za-z])`).test(
    body,
  );
}

export function healthUrlOf(env: EnvironmentConfig, host: EnvironmentHost): string | undefined {
  return host.healthUrl ?? env.health?.url;
}

export async function defaultHealthProbe(url: string, timeoutMs: number): Promise<HealthProbeResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 4096);
    return { ok: res.ok, status: res.status, body };
  } catch (err) {
    return { ok: false, body: "", error: (err as Error).message };
  }
}
