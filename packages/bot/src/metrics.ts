type Labels = Readonly<Record<string, string>>;

const key = (labels: Labels) =>
  Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A small Prometheus registry: counters, one latency histogram family, gauges read at scrape time. */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly histograms = new Map<
    string,
    { help: string; series: Map<string, { buckets: number[]; sum: number; count: number }> }
  >();
  private readonly gauges = new Map<string, { help: string; read: () => Promise<[Labels, number][]> }>();

  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) {
      c = { help, values: new Map() };
      this.counters.set(name, c);
    }
    const k = key(labels);
    c.values.set(k, (c.values.get(k) ?? 0) + by);
  }

  observe(name: string, help: string, labels: Labels, seconds: number): void {
    let h = this.histograms.get(name);
    if (!h) {
      h = { help, series: new Map() };
      this.histograms.set(name, h);
    }
    const k = key(labels);
    let s = h.series.get(k);
    if (!s) {
      s = { buckets: BUCKETS.map(() => 0), sum: 0, count: 0 };
      h.series.set(k, s);
    }
    for (const [i, b] of BUCKETS.entries()) if (seconds <= b) s.buckets[i]!++;
    s.sum += seconds;
    s.count++;
  }

  gauge(name: string, help: string, read: () => Promise<[Labels, number][]>): void {
    this.gauges.set(name, { help, read });
  }

  /** The Prometheus text exposition format (0.0.4). */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [k, v] of c.values) out.push(`${name}${k ? `{${k}}` : ""} ${v}`);
    }
    for (const [name, h] of this.histograms) {
      out.push(`# HELP ${name} ${h.help}`, `# TYPE ${name} histogram`);
      for (const [k, s] of h.series) {
        const sep = k ? `${k},` : "";
        for (const [i, b] of BUCKETS.entries()) out.push(`${name}_bucket{${sep}le="${b}"} ${s.buckets[i]}`);
        out.push(`${name}_bucket{${sep}le="+Inf"} ${s.count}`);
        out.push(`${name}_sum${k ? `{${k}}` : ""} ${s.sum}`, `${name}_count${k ? `{${k}}` : ""} ${s.count}`);
      }
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      try {
        for (const [labels, v] of await g.read())
          out.push(`${name}${key(labels) ? `{${key(labels)}}` : ""} ${v}`);
      } catch {
        // A gauge that cannot be read now is left out of this scrape.
      }
    }
    return `${out.join("\n")}\n`;
  }
}
