// The observability examples (examples/observability): the Grafana dashboard and the Prometheus
// alert rules use only metrics, labels and label values that a real scrape of GET /metrics holds,
// on a seeded history that makes every family and every value they name appear (runs, releases,
// approvals, refused requests, a refused webhook call, deliveries that Telegram rate-limits, fails
// and refuses, a workflow dispatch GitHub fails once); and promtool accepts the rules, their unit
// tests, prometheus.yml and the dashboard's queries. Without promtool the promtool checks are
// skipped, unless RELCTL_REQUIRE_PROMTOOL=1 (CI), where they fail.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunStatus, RunStore } from "@relctl/core";
import { badGateway, badRequest, tooManyRequests } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness, waitFor } from "./support/harness.js";
import { seedDeployed, seedRolledBack } from "./support/seed-releases.js";

const PROMTOOL = spawnSync("promtool", ["--version"]).status === 0;
const DIR = fileURLToPath(new URL("../../../examples/observability/", import.meta.url));
const PROMETHEUS_DIR = join(DIR, "prometheus");
const RULES = join(PROMETHEUS_DIR, "relctl-rules.yml");
const DASHBOARD = join(DIR, "grafana", "relctl-dashboard.json");
/** Every panel's and variable's data source: the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
const DATASOURCE = { type: "prometheus", uid: "${datasource}" };

/** Series Prometheus makes itself, not in /metrics. */
const SYNTHETIC = new Set(["up"]);
/** Labels Prometheus adds to every scraped series: the target's. */
const TARGET_LABELS = new Set(["job", "instance"]);
const KEYWORDS = new Set([
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "inf",
  "nan",
]);

// --- the scrape -------------------------------------------------------------------------------

/** Each sample name of a scrape with its labels and the values seen for each. */
type Scrape = Map<string, Map<string, Set<string>>>;

function parseScrape(text: string): Scrape {
  const scrape: Scrape = new Map();
  const sample = (name: string) => {
    if (!scrape.has(name)) scrape.set(name, new Map());
    return scrape.get(name)!;
  };
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (type) {
      // A family with no sample yet still names its series.
      const [, name, kind] = type as unknown as [string, string, string];
      const suffixes =
        kind === "histogram"
          ? ["_bucket", "_sum", "_count"]
          : kind === "summary"
            ? ["", "_sum", "_count"]
            : [""];
      for (const s of suffixes) sample(`${name}${s}`);
      continue;
    }
    if (line.startsWith("#") || !line.trim()) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) throw new Error(`unparsed scrape line: ${line}`);
    const labels = sample(m[1]!);
    for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (!labels.has(k!)) labels.set(k!, new Set());
      labels.get(k!)!.add(v!);
    }
  }
  return scrape;
}

// --- PromQL, as far as names go ---------------------------------------------------------------

/** Grafana's variables replaced by values PromQL takes (so that promtool can parse the query). */
function withoutVariables(expr: string): string {
  return expr
    .replaceAll("$__range_s", "86400")
    .replaceAll("$__range", "1d")
    .replaceAll("$__rate_interval", "5m")
    .replaceAll("$__interval", "1h")
    .replace(/\$\{?\w+\}?/g, ".*");
}

interface Selector {
  readonly metric: string;
  readonly matchers: { readonly label: string; readonly op: string; readonly value: string }[];
}

interface Usage {
  readonly metrics: Set<string>;
  readonly selectors: Selector[];
  /** Labels the expression groups or matches by (by, without, on, ignoring, group_left/right). */
  readonly grouping: Set<string>;
}

function usage(raw: string): Usage {
  const expr = withoutVariables(raw);
  const selectors: Selector[] = [];
  for (const [, metric, body] of expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}/g)) {
    const matchers = [...body!.matchAll(/(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
      ([, label, op, value]) => ({ label: label!, op: op!, value: value! }),
    );
    selectors.push({ metric: metric!, matchers });
  }
  const grouping = new Set<string>();
  for (const [, list] of expr.matchAll(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
  )) {
    for (const l of list!.split(",")) if (l.trim()) grouping.add(l.trim());
  }
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, "")
    .replace(/\[[^\]]*\]/g, "")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const metrics = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.:])[a-zA-Z_:][\w:]*/g)) {
    const name = m[0];
    const after = bare.slice(m.index + name.length);
    if (KEYWORDS.has(name.toLowerCase()) || /^\s*\(/.test(after)) continue;
    metrics.add(name);
  }
  // Whatever the tokens above miss, a name of relctl's or prom-client's families is one.
  for (const [name] of expr.matchAll(/\b(?:relctl|process|nodejs)_[a-z0-9_]+/g)) metrics.add(name);
  return { metrics, selectors, grouping };
}

/** What is wrong with one expression against the scrape; `labels` are those it prints. */
function problemsOf(where: string, raw: string, scrape: Scrape, labels: readonly string[] = []): string[] {
  const { metrics, selectors, grouping } = usage(raw);
  const problems: string[] = [];
  if (metrics.size === 0) problems.push(`${where}: no metric found in ${raw}`);
  for (const m of metrics) {
    if (!SYNTHETIC.has(m) && !scrape.has(m)) problems.push(`${where}: ${m} is not in /metrics`);
  }
  for (const { metric, matchers } of selectors) {
    const known = scrape.get(metric);
    if (!known) continue;
    for (const { label, op, value } of matchers) {
      if (TARGET_LABELS.has(label)) continue;
      const values = known.get(label);
      if (!values) {
        problems.push(`${where}: ${metric} has no label ${label}`);
        continue;
      }
      // Values named outright (=, or =~ over an alternation of plain words) must be ones relctl sends.
      const named = op === "=" ? [value] : op === "=~" && /^[\w|]+$/.test(value) ? value.split("|") : [];
      for (const v of named) {
        if (!values.has(v)) problems.push(`${where}: ${metric}{${label}="${v}"} is not in /metrics`);
      }
    }
  }
  const available = new Set(TARGET_LABELS);
  for (const m of metrics) for (const l of scrape.get(m)?.keys() ?? []) available.add(l);
  for (const l of [...grouping, ...labels]) {
    if (!available.has(l)) problems.push(`${where}: label ${l} is on none of ${[...metrics].join(", ")}`);
  }
  return problems;
}

// --- the files --------------------------------------------------------------------------------

interface Rule {
  readonly name: string;
  readonly expr: string;
  /** The labels its annotations print ({{ $labels.x }}). */
  readonly printed: string[];
}

/**
 * The rules of a Prometheus rule file, read line by line: a rule starts at `- alert:` or
 * `- record:`; its `expr` is a plain scalar on the line or a block scalar (| or >) below it.
 * The count is checked against promtool's where promtool is installed.
 */
function readRules(text: string): Rule[] {
  const lines = text.split("\n");
  const rules: Rule[] = [];
  let current: { name: string; expr: string[]; body: string[] } | undefined;
  const flush = () => {
    if (current) {
      const body = current.body.join("\n");
      rules.push({
        name: current.name,
        expr: current.expr.join("\n").trim(),
        printed: [...body.matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]!),
      });
    }
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const start = /^\s*- (?:alert|record):\s*(\S+)/.exec(line);
    if (start) {
      flush();
      current = { name: start[1]!, expr: [], body: [] };
      continue;
    }
    if (!current) continue;
    current.body.push(line);
    const expr = /^(\s*)expr:\s*(.*)$/.exec(line);
    if (!expr) continue;
    const [, indent, rest] = expr as unknown as [string, string, string];
    if (/^[|>][-+]?$/.test(rest.trim())) {
      while (
        i + 1 < lines.length &&
        (!lines[i + 1]!.trim() || /^\s*/.exec(lines[i + 1]!)![0].length > indent.length)
      ) {
        current.expr.push(lines[++i]!);
      }
    } else if (/^".*"$/.test(rest.trim())) current.expr.push(JSON.parse(rest.trim()) as string);
    else if (/^'.*'$/.test(rest.trim())) current.expr.push(rest.trim().slice(1, -1).replaceAll("''", "'"));
    else current.expr.push(rest);
  }
  flush();
  return rules;
}

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
  readonly targets?: { refId: string; expr: string; legendFormat?: string }[];
  readonly panels?: Panel[];
}

interface Dashboard {
  readonly schemaVersion: number;
  readonly panels: Panel[];
  readonly templating: {
    list: { name: string; type: string; query: unknown; datasource?: { type: string; uid: string } }[];
  };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

/** Every query of the dashboard: each panel target's, and each query variable's selector. */
function dashboardQueries(): { where: string; expr: string; labels: string[] }[] {
  const queries = allPanels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({
      where: `panel "${p.title}" ${t.refId}`,
      expr: t.expr,
      labels: [...(t.legendFormat ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!),
    })),
  );
  for (const v of dashboard.templating.list.filter((x) => x.type === "query")) {
    const m = /^label_values\((?:(.+),\s*)?(\w+)\)$/.exec(String(v.query));
    if (!m?.[1])
      throw new Error(`variable ${v.name}: expected label_values(<selector>, <label>), got ${v.query}`);
    queries.push({ where: `variable ${v.name}`, expr: m[1], labels: [m[2]!] });
  }
  return queries;
}

function promtool(args: string[], cwd: string) {
  const r = spawnSync("promtool", args, { cwd, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

// --- the history ------------------------------------------------------------------------------

describe("examples/observability against a real scrape of /metrics", () => {
  let h: Harness;
  let scrape: Scrape;

  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_RETRY_BASE_MS: "20" } });
    // The first chat messages meet a 429, a 502 and a refusal: rate_limited, transient, failed.
    const forced = [tooManyRequests(1), badGateway(), badRequest("chat not found")];
    h.telegram.script = (call) => (call.method === "sendMessage" ? forced.shift() : undefined);

    const { store } = h.service.deps;
    const runs = new RunStore(h.db.db.sql);
    await seedDeployed(store, "api", "v1.0.0");
    await seedRolledBack(store, "api", "v1.1.0", "v1.0.0");
    const run = async (kind: "deploy" | "rollback", status: RunStatus, secs: number) => {
      const r = await runs.createRun({
        kind,
        service: "api",
        environment: "production",
        releaseId: null,
        tag: "v1.0.0",
        fromTag: null,
        actor: { user: "ops", channel: "cli" },
        gated: true,
      });
      await runs.finishRun(r.id, status);
      await h.db.db
        .sql`UPDATE runs SET started_at = finished_at - make_interval(secs => ${secs}) WHERE id = ${r.id}`;
    };
    await run("deploy", "succeeded", 60);
    await run("deploy", "rollback_failed", 90);
    await run("rollback", "succeeded", 20);
    await run("rollback", "failed", 30);
    // A production deploy dispatched to GitHub, which answers 502 first (retried), then 204.
    const dispatchFailures = [502];
    h.github.script = () => dispatchFailures.shift();
    const { release: dispatched } = await store.createRelease(
      { service: "web", tag: "v2.0.0" },
      { user: "ci", channel: "api" },
    );
    await h.db.db.sql.begin((tx) =>
      h.service.deps.deploys.requestDeploy(
        tx,
        { releaseId: dispatched.id, service: "web" },
        { user: "lee", channel: "telegram" },
      ),
    );

    expect((await h.api("GET", "/releases")).status).toBe(200);
    expect((await h.api("GET", "/releases", undefined, { authorization: "Bearer wrong" })).status).toBe(401);
    expect(await h.webhook({ message: {} }, "not-the-secret")).toBe(401);

    const text = await waitFor(
      async () => {
        const t = await (await fetch(`${h.service.url}/metrics`)).text();
        const results = ["sent", "rate_limited", "transient", "failed"];
        const all = results.every((r) => t.includes(`relctl_telegram_deliveries_total{result="${r}"}`));
        const calls = t.split("\n").filter((l) => l.startsWith("relctl_github_api_requests_total{"));
        const github = ["502", "204"].every((status) => calls.some((l) => l.includes(`status="${status}"`)));
        return all && github ? t : undefined;
      },
      20_000,
      "deliveries sent, retried and failed; the GitHub dispatch retried and accepted",
    );
    scrape = parseScrape(text);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("reads every rule of the rule file", () => {
    const text = readFileSync(RULES, "utf8");
    const rules = readRules(text);
    expect(rules.length).toBe([...text.matchAll(/^\s*- (?:alert|record):/gm)].length);
    expect(rules.map((r) => r.name)).toEqual(
      expect.arrayContaining([
        "RelctlRollbackFailed",
        "RelctlDeployStuck",
        "RelctlOutboxBacklog",
        "RelctlDeployRequestUnknown",
        "RelctlHttpErrors",
        "RelctlHttpRefusals",
        "RelctlTelegramErrors",
        "RelctlGithubApiErrors",
      ]),
    );
    for (const r of rules) expect(r.expr, r.name).not.toBe("");
    // Every alert says how long it must hold, how bad it is, and what it means.
    for (const chunk of text.split(/^\s*- alert:/m).slice(1)) {
      const name = chunk.split("\n")[0]!.trim();
      expect(chunk, name).toMatch(/^\s+for: \d+[smh]$/m);
      expect(chunk, name).toMatch(/^\s+severity: (critical|warning|info)$/m);
      expect(chunk, name).toMatch(/^\s+summary: /m);
      expect(chunk, name).toMatch(/^\s+description: /m);
    }
  });

  it("the rules use only metrics, labels and values that /metrics has", () => {
    const rules = readRules(readFileSync(RULES, "utf8"));
    expect(rules.flatMap((r) => problemsOf(`rule ${r.name}`, r.expr, scrape, r.printed))).toEqual([]);
  });

  it("the dashboard uses only metrics, labels and values that /metrics has", () => {
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(20);
    expect(queries.flatMap((q) => problemsOf(q.where, q.expr, scrape, q.labels))).toEqual([]);
  });

  it("the dashboard has its variables and panels, on one data source, laid out without overlaps", () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(41);
    const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.get("datasource")).toMatchObject({ type: "datasource", query: "prometheus" });
    expect(vars.get("service")).toMatchObject({
      type: "query",
      query: "label_values(relctl_releases, service)",
      datasource: DATASOURCE,
    });
    const titles = allPanels.map((p) => p.title);
    for (const t of [
      "Deploys per day",
      "Deploy frequency",
      "Deploy success rate",
      "Success rate (7 d)",
      "MTTR (mean rollback)",
      "MTTR: rollback duration (7 d)",
      "Lead time (median)",
      "Lead time (7 d)",
      "Deploys in progress",
      "Releases by status",
      "Per service over the selected range",
      "Telegram API calls",
      "Telegram API error rate",
      "Telegram API latency (p95)",
      "GitHub API calls",
      "GitHub API error rate",
      "GitHub API latency (p95)",
    ])
      expect(titles).toContain(t);

    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = allPanels.map((p) => ({ title: p.title, ...p.gridPos }));
    for (const p of allPanels.filter((x) => x.type !== "row")) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    for (const [i, a] of boxes.entries()) {
      expect(a.x + a.w, a.title).toBeLessThanOrEqual(24);
      for (const b of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        expect(overlap, `${a.title} overlaps ${b.title}`).toBe(false);
      }
    }
  });

  const skipPromtool = !PROMTOOL && process.env.RELCTL_REQUIRE_PROMTOOL !== "1";
  const skipped = " (skipped: promtool is not installed; apt-get install prometheus)";
  const title = (t: string) => (skipPromtool ? `${t}${skipped}` : t);
  const needPromtool = () =>
    expect(PROMTOOL, "promtool is not installed (apt-get install prometheus)").toBe(true);

  it.skipIf(skipPromtool)(title("promtool check rules accepts the rules, each of them read above"), () => {
    needPromtool();
    const { status, output } = promtool(["check", "rules", "relctl-rules.yml"], PROMETHEUS_DIR);
    expect(status, output).toBe(0);
    const found = Number(/SUCCESS: (\d+) rules found/.exec(output)?.[1]);
    expect(found).toBe(readRules(readFileSync(RULES, "utf8")).length);
  });

  it.skipIf(skipPromtool)(
    title("promtool test rules: each alert fires on its series and not on others"),
    () => {
      needPromtool();
      const { status, output } = promtool(["test", "rules", "relctl-rules.test.yml"], PROMETHEUS_DIR);
      expect(status, output).toBe(0);
      expect(output).toContain("SUCCESS");
      // Each alert of the rule file has a test that expects it to fire.
      const tests = readFileSync(join(PROMETHEUS_DIR, "relctl-rules.test.yml"), "utf8");
      for (const r of readRules(readFileSync(RULES, "utf8")))
        expect(tests, r.name).toMatch(new RegExp(`alertname: ${r.name}\\n\\s+exp_alerts:( &\\w+)?\\n`));
    },
  );

  it.skipIf(skipPromtool)(title("promtool check config accepts prometheus.yml and its rule file"), () => {
    needPromtool();
    const { status, output } = promtool(["check", "config", "prometheus.yml"], PROMETHEUS_DIR);
    expect(status, output).toBe(0);
    expect(output).toContain("SUCCESS: 1 rule files found");
  });

  it.skipIf(skipPromtool)(title("the dashboard's queries parse as PromQL"), () => {
    needPromtool();
    const queries = dashboardQueries();
    const rules = queries.map((q, i) => ({
      record: `relctl_dashboard_check:query_${i}`,
      expr: withoutVariables(q.expr),
    }));
    const dir = mkdtempSync(join(tmpdir(), "relctl-dashboard-"));
    try {
      // JSON is YAML: one group with every query as a recording rule.
      writeFileSync(join(dir, "queries.yml"), JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const { status, output } = promtool(["check", "rules", "queries.yml"], dir);
      expect(status, `${output}\n${queries.map((q, i) => `${i}: ${q.where}`).join("\n")}`).toBe(0);
      expect(output).toContain(`SUCCESS: ${queries.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
