import { readFileSync } from "node:fs";
import { Counter, collectDefaultMetrics, Histogram, type Metric, Registry } from "prom-client";

export type Labels = Readonly<Record<string, string>>;

/** One line of a family read at scrape time; `suffix` names a histogram's _bucket, _sum, _count. */
export interface Sample {
  readonly labels: Labels;
  readonly value: number;
  readonly suffix?: "_bucket" | "_sum" | "_count";
}

/** A scrape's budget: what runs before the metrics are rendered must be done in `timeoutMs`. */
export type ScrapeHook = (timeoutMs: number) => Promise<void>;

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DEFAULT_SCRAPE_TIMEOUT_MS = 1000;

/** The labels in name order (so that a series always prints the same), only `names` kept. */
function ordered(labels: Labels, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) out[n] = labels[n] ?? "";
  return out;
}

const sortedNames = (labels: Labels) => Object.keys(labels).sort();

/** A sample's label names as prom-client prints a histogram bucket's: `le` first, then by name. */
const sampleNames = (labels: Labels) =>
  sortedNames(labels).sort((a, b) => Number(b === "le") - Number(a === "le"));

/** A family whose samples are computed when scraped (gauges read now, figures from the database). */
class ScrapedFamily {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    private readonly read: () => readonly Sample[] | Promise<readonly Sample[]>,
  ) {}

  async get() {
    let samples: readonly Sample[];
    try {
      samples = await this.read();
    } catch {
      // A family that cannot be read now is left out of this scrape.
      samples = [];
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: "sum" as const,
      values: samples.map((s) => ({
        metricName: `${this.name}${s.suffix ?? ""}`,
        labels: ordered(s.labels, sampleNames(s.labels)),
        value: s.value,
      })),
    };
  }

  reset(): void {}
}

/** The version in the bot's package.json (one level above src/ and dist/). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/**
 * The service's Prometheus registry (prom-client): counters and latency histograms the code
 * updates as things happen, families read at scrape time, the process and Node.js metrics, and
 * `relctl_build_info`. A counter's or a histogram's label names are those of its first use; a
 * later use with other names keeps those (missing ones empty, others dropped) rather than throw
 * from the code path it counts.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, { counter: Counter<string>; names: string[] }>();
  private readonly histograms = new Map<string, { histogram: Histogram<string>; names: string[] }>();
  private readonly hooks: ScrapeHook[] = [];

  constructor(options: { version?: string } = {}) {
    collectDefaultMetrics({ register: this.registry });
    const build = { version: options.version ?? packageVersion(), node: process.version };
    this.family(
      "relctl_build_info",
      "The relctl version and the Node.js version it runs on (always 1).",
      "gauge",
      () => [{ labels: build, value: 1 }],
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      const names = sortedNames(labels);
      c = { counter: new Counter({ name, help, labelNames: names, registers: [this.registry] }), names };
      this.counters.set(name, c);
    }
    c.counter.inc(ordered(labels, c.names), by);
  }

  observe(name: string, help: string, labels: Labels, seconds: number): void {
    let h = this.histograms.get(name);
    if (!h) {
      const names = sortedNames(labels);
      h = {
        histogram: new Histogram({
          name,
          help,
          labelNames: names,
          buckets: BUCKETS,
          registers: [this.registry],
        }),
        names,
      };
      this.histograms.set(name, h);
    }
    h.histogram.observe(ordered(labels, h.names), seconds);
  }

  /** A gauge read at scrape time; one that fails is left out of that scrape. */
  gauge(name: string, help: string, read: () => Promise<[Labels, number][]>): void {
    this.family(name, help, "gauge", async () =>
      (await read()).map(([labels, value]) => ({ labels, value })),
    );
  }

  /**
   * A family of any type whose samples are computed at scrape time (a counter or a histogram
   * whose values are already cumulative, such as counts read from the database). Registering a
   * name again replaces it.
   */
  family(
    name: string,
    help: string,
    type: "counter" | "gauge" | "histogram",
    read: () => readonly Sample[] | Promise<readonly Sample[]>,
  ): void {
    this.registry.removeSingleMetric(name);
    this.registry.registerMetric(new ScrapedFamily(name, help, type, read) as unknown as Metric);
  }

  /** Work each scrape does first, side by side with the others, given the scrape's budget. */
  onScrape(hook: ScrapeHook): void {
    this.hooks.push(hook);
  }

  /** The Prometheus text exposition format (0.0.4). */
  async render(options: { timeoutMs?: number } = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_SCRAPE_TIMEOUT_MS;
    await Promise.all(this.hooks.map((hook) => hook(timeoutMs).catch(() => {})));
    return this.registry.metrics();
  }
}
