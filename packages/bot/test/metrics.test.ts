// GET /metrics on a seeded history: the figures read from the database at scrape time (runs made
// through core's RunStore as a CLI deploy makes them, approvals, releases, deploy requests, the
// outbox), the process metrics, and a text that promtool accepts; and a database that does not
// answer in time: the scrape still answers, within its budget, with relctl_metrics_db_up 0.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { DEFAULT_APPROVAL_POLICY, RELEASE_STATUSES, type RunStatus, RunStore } from "@relctl/core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./support/harness.js";
import { seedDeployed, seedRolledBack } from "./support/seed-releases.js";

const PROMTOOL = spawnSync("promtool", ["--version"]).status === 0;

/** The value of one series in the scrape text (labels in the order printed), or undefined. */
function seriesValue(text: string, series: string): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  /** The labels its samples carry (`le` aside); undefined when it has no sample in this scrape. */
  readonly labels: readonly string[] | undefined;
}

/** The relctl_ families of a scrape: name, type, HELP text and labels, in the scrape's order. */
function scrapedFamilies(text: string): Family[] {
  const families: Family[] = [];
  for (const [, name, help] of text.matchAll(/^# HELP (relctl_[a-z_]+) (.*)$/gm)) {
    const type = new RegExp(`^# TYPE ${name} (\\w+)$`, "m").exec(text)?.[1] ?? "untyped";
    const labels = new Set<string>();
    let sampled = false;
    for (const [, labelText] of text.matchAll(
      new RegExp(`^${name}(?:_bucket|_sum|_count)?(?:\\{(.*)\\})? `, "gm"),
    )) {
      sampled = true;
      for (const [, label] of (labelText ?? "").matchAll(/(\w+)="(?:[^"\\]|\\.)*"/g))
        if (label !== "le") labels.add(label!);
    }
    families.push({ name: name!, type, help: help!, labels: sampled ? [...labels] : undefined });
  }
  return families;
}

/**
 * The README with its metrics table's type and labels columns set from the scrape, and a row
 * (its HELP text as the meaning) for a family the table lacks, before the process metrics' row.
 * Labels keep the table's order; a family without samples here keeps the labels the table gives.
 */
function writeMetricsTable(readme: string, families: readonly Family[]): string {
  const lines = readme.split("\n");
  const start = lines.findIndex((l) => /^\| name +\| type +\| labels +\| meaning +\|$/.test(l));
  if (start < 0) throw new Error("the README has no metrics table (| name | type | labels | meaning |)");
  let end = start;
  while (lines[end]?.startsWith("|")) end++;
  const cells = (l: string) =>
    l
      .slice(1, -1)
      .split(" | ")
      .map((c) => c.trim());
  const rows = lines.slice(start + 2, end).map(cells);
  const byName = new Map(families.map((f) => [`\`${f.name}\``, f]));
  const labelsOf = (f: Family, given: string) => {
    if (!f.labels) return given;
    const order = given.split(", ").map((l) => l.replaceAll("`", ""));
    const sorted = [...f.labels].sort((a, b) => {
      const [i, j] = [order.indexOf(a), order.indexOf(b)];
      return (i < 0 ? 99 : i) - (j < 0 ? 99 : j);
    });
    return sorted.map((l) => `\`${l}\``).join(", ");
  };
  const out = rows.map(([name = "", type = "", labels = "", meaning = ""]) => {
    const f = byName.get(name);
    return f ? [name, f.type, labelsOf(f, labels), meaning] : [name, type, labels, meaning];
  });
  const listed = new Set(rows.map((r) => r[0]));
  const added = families
    .filter((f) => !listed.has(`\`${f.name}\``))
    .map((f) => [`\`${f.name}\``, f.type, labelsOf(f, ""), f.help.replace(/\.$/, "")]);
  const process = out.findIndex((r) => r[0]!.startsWith("`process_"));
  out.splice(process < 0 ? out.length : process, 0, ...added);
  const header = cells(lines[start]!);
  const widths = header.map((h, i) => Math.max(h.length, ...out.map((r) => r[i]!.length)));
  const row = (r: readonly string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const table = [row(header), `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`, ...out.map(row)];
  return [...lines.slice(0, start), ...table, ...lines.slice(end)].join("\n");
}

async function scrape(h: Harness): Promise<{ status: number; text: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(`${h.service.url}/metrics`);
  return { status: res.status, text: await res.text(), ms: Date.now() - started };
}

describe("GET /metrics", () => {
  let h: Harness;
  beforeAll(async () => {
    // Workers poll once a minute: the requests and chat messages seeded below stay as they are.
    h = await startHarness({ env: { RELCTL_POLL_MS: "60000" } });
    const { store } = h.service.deps;
    const sql = h.db.db.sql;
    const runs = new RunStore(sql);
    const actor = { user: "ops", channel: "cli" as const };

    const v1 = await seedDeployed(store, "api", "v1.0.0");
    await seedDeployed(store, "api", "v1.1.0");
    await seedRolledBack(store, "api", "v1.2.0", "v1.1.0");
    const web = await store.createRelease({ service: "web", tag: "w1" }, { user: "ci", channel: "api" });
    for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
      await store.transition(web.release.id, s, "runbook", { user: "ci", channel: "api" });
    await store.decide(
      web.release.id,
      { role: "qa", decision: "reject", reason: "broken login" },
      DEFAULT_APPROVAL_POLICY,
      { user: "seed-qa", channel: "cli" },
    );
    // v1.0.0 was created two hours before it went out.
    await sql`UPDATE releases SET created_at = created_at - interval '2 hours' WHERE id = ${v1}`;

    // Runs as `relctl deploy` / `relctl rollback` / `relctl rehearse` record them.
    const run = async (
      kind: "deploy" | "rollback" | "rehearse",
      env: string,
      status: RunStatus,
      secs: number,
    ) => {
      const r = await runs.createRun({
        kind,
        service: "api",
        environment: env,
        releaseId: null,
        tag: "v1.1.0",
        fromTag: null,
        actor,
        gated: env === "production",
      });
      await runs.finishRun(r.id, status);
      await sql`UPDATE runs SET started_at = finished_at - make_interval(secs => ${secs}) WHERE id = ${r.id}`;
    };
    await run("deploy", "production", "succeeded", 45);
    await run("deploy", "production", "succeeded", 200);
    await run("deploy", "production", "rolled_back", 90);
    await run("deploy", "production", "rollback_failed", 90);
    await run("deploy", "staging", "failed", 5);
    await run("rollback", "production", "succeeded", 20);
    await run("rehearse", "staging", "succeeded", 8);
    // Still running: counted nowhere yet.
    await runs.createRun({
      kind: "deploy",
      service: "api",
      environment: "production",
      releaseId: null,
      tag: "v1.3.0",
      fromTag: null,
      actor,
    });

    await sql`INSERT INTO deploy_requests (kind, release_id, service_name, requested_by, channel, state)
      VALUES ('deploy', ${web.release.id}, 'web', 'ops', 'cli', 'pending'),
             ('rollback', ${v1}, 'api', 'ops', 'cli', 'unknown')`;
    // A chat message held back for later, written ten minutes ago.
    await sql`INSERT INTO outbox (chat_id, kind, event_key, created_at, available_at)
      VALUES (-42, 'notice', 'metrics-test', now() - interval '10 minutes', now() + interval '1 day')`;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("reports runs, approvals, releases, requests and the outbox from the database", async () => {
    const { status, text } = await scrape(h);
    expect(status).toBe(200);
    const v = (series: string) => seriesValue(text, series);

    expect(v("relctl_metrics_db_up")).toBe(1);
    expect(v(`relctl_build_info{node="${process.version}",version="0.1.0"}`)).toBe(1);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds \d/m);

    expect(v('relctl_deploys_total{environment="production",outcome="succeeded",service="api"}')).toBe(2);
    expect(v('relctl_deploys_total{environment="production",outcome="rolled_back",service="api"}')).toBe(1);
    expect(v('relctl_deploys_total{environment="production",outcome="rollback_failed",service="api"}')).toBe(
      1,
    );
    expect(v('relctl_deploys_total{environment="staging",outcome="failed",service="api"}')).toBe(1);
    expect(text).not.toContain('outcome="running"');
    expect(
      v(
        'relctl_rollbacks_total{environment="production",outcome="succeeded",service="api",trigger="automatic"}',
      ),
    ).toBe(1);
    expect(
      v(
        'relctl_rollbacks_total{environment="production",outcome="failed",service="api",trigger="automatic"}',
      ),
    ).toBe(1);
    expect(
      v(
        'relctl_rollbacks_total{environment="production",outcome="succeeded",service="api",trigger="manual"}',
      ),
    ).toBe(1);
    expect(v('relctl_rehearsals_total{environment="staging",outcome="succeeded",service="api"}')).toBe(1);

    // Three releases of api approved by qa, devops and lead; web rejected by qa.
    for (const role of ["qa", "devops", "lead"])
      expect(v(`relctl_approvals_total{decision="approve",role="${role}",service="api"}`)).toBe(3);
    expect(v('relctl_approvals_total{decision="reject",role="qa",service="web"}')).toBe(1);

    // Every status, for every service, zeros included.
    for (const s of RELEASE_STATUSES) {
      const api = s === "deployed" ? 2 : s === "rollback_done" ? 1 : 0;
      expect(v(`relctl_releases{service="api",status="${s}"}`), s).toBe(api);
      expect(v(`relctl_releases{service="web",status="${s}"}`), s).toBe(s === "manual_test_failed" ? 1 : 0);
    }

    expect(v('relctl_deploy_requests{kind="deploy",state="pending"}')).toBe(1);
    expect(v('relctl_deploy_requests{kind="rollback",state="unknown"}')).toBe(1);
    for (const state of ["running", "dispatched"]) {
      expect(v(`relctl_deploy_requests{kind="deploy",state="${state}"}`)).toBe(0);
      expect(v(`relctl_deploy_requests{kind="rollback",state="${state}"}`)).toBe(0);
    }

    expect(v("relctl_outbox_pending")).toBeGreaterThanOrEqual(1);
    const age = v("relctl_outbox_oldest_pending_age_seconds")!;
    expect(age).toBeGreaterThanOrEqual(600);
    expect(age).toBeLessThan(700);
  });

  it("reports deploy and rollback durations and lead times as histograms", async () => {
    const { text } = await scrape(h);
    const v = (series: string) => seriesValue(text, series);
    const at = 'environment="production",service="api"';
    // The two deploys that succeeded: 45 s and 200 s.
    expect(v(`relctl_deploy_duration_seconds_bucket{le="30",${at}}`)).toBe(0);
    expect(v(`relctl_deploy_duration_seconds_bucket{le="60",${at}}`)).toBe(1);
    expect(v(`relctl_deploy_duration_seconds_bucket{le="120",${at}}`)).toBe(1);
    expect(v(`relctl_deploy_duration_seconds_bucket{le="300",${at}}`)).toBe(2);
    expect(v(`relctl_deploy_duration_seconds_bucket{le="+Inf",${at}}`)).toBe(2);
    expect(v(`relctl_deploy_duration_seconds_count{${at}}`)).toBe(2);
    expect(v(`relctl_deploy_duration_seconds_sum{${at}}`)).toBeCloseTo(245, 3);
    expect(text).not.toContain('relctl_deploy_duration_seconds_count{environment="staging"');

    expect(v(`relctl_rollback_duration_seconds_bucket{le="10",${at}}`)).toBe(0);
    expect(v(`relctl_rollback_duration_seconds_bucket{le="30",${at}}`)).toBe(1);
    expect(v(`relctl_rollback_duration_seconds_count{${at}}`)).toBe(1);
    expect(v(`relctl_rollback_duration_seconds_sum{${at}}`)).toBeCloseTo(20, 3);

    // Three api releases went out: two at once, one two hours after it was created.
    expect(v('relctl_lead_time_seconds_bucket{le="300",service="api"}')).toBe(2);
    expect(v('relctl_lead_time_seconds_bucket{le="3600",service="api"}')).toBe(2);
    expect(v('relctl_lead_time_seconds_bucket{le="7200",service="api"}')).toBe(2);
    expect(v('relctl_lead_time_seconds_bucket{le="14400",service="api"}')).toBe(3);
    expect(v('relctl_lead_time_seconds_count{service="api"}')).toBe(3);
    expect(v('relctl_lead_time_seconds_sum{service="api"}')).toBeGreaterThanOrEqual(7200);
    expect(v('relctl_lead_time_seconds_sum{service="api"}')).toBeLessThan(7300);

    // Three api releases got every approval, each within seconds; web's was rejected: no wait counted.
    expect(v('relctl_approval_wait_seconds_bucket{le="300",service="api"}')).toBe(3);
    expect(v('relctl_approval_wait_seconds_count{service="api"}')).toBe(3);
    expect(v('relctl_approval_wait_seconds_sum{service="api"}')).toBeLessThan(60);
    expect(text).not.toContain('relctl_approval_wait_seconds_count{service="web"}');
  });

  // The table's name, type and labels columns are the scrape's: RELCTL_WRITE_METRICS_TABLE=1
  // writes them (a new family gets its HELP text as its meaning); otherwise the test fails when
  // the README differs from what it would write.
  it("documents every relctl_ family it exports, with its type and labels, in the bot README's metrics table", async () => {
    const { text } = await scrape(h);
    const readmeUrl = new URL("../README.md", import.meta.url);
    const readme = readFileSync(readmeUrl, "utf8");
    const families = scrapedFamilies(text);
    expect(families.length).toBeGreaterThan(10);
    const written = writeMetricsTable(readme, families);
    if (process.env.RELCTL_WRITE_METRICS_TABLE === "1") writeFileSync(readmeUrl, written);
    else expect(readme, "RELCTL_WRITE_METRICS_TABLE=1 rewrites the table").toBe(written);
    expect(families.filter((f) => !readme.includes(`| \`${f.name}\``)).map((f) => f.name)).toEqual([]);
  });

  it("keeps the counters and histograms the service updates itself", async () => {
    await h.api("GET", "/releases");
    const { text } = await scrape(h);
    expect(text).toMatch(/^relctl_http_requests_total\{method="GET",route="\/releases",status="200"\} \d+$/m);
    expect(text).toMatch(
      /^relctl_http_request_duration_seconds_bucket\{le="0.005",route="\/releases"\} \d+$/m,
    );
    expect(text).toContain("# TYPE relctl_http_request_duration_seconds histogram");
  });

  // prom-client's default metrics name three gauges *_total (nodejs_active_handles_total, …): the
  // only lint findings allowed; any other finding, or text promtool cannot parse, fails. Without
  // promtool the test is skipped, unless RELCTL_REQUIRE_PROMTOOL=1 (CI), where it fails.
  const skipPromtool = !PROMTOOL && process.env.RELCTL_REQUIRE_PROMTOOL !== "1";
  it.skipIf(skipPromtool)(
    !skipPromtool
      ? "is accepted by promtool check metrics"
      : "is accepted by promtool check metrics (skipped: promtool is not installed; apt-get install prometheus)",
    async () => {
      expect(PROMTOOL, "promtool is not installed (apt-get install prometheus)").toBe(true);
      const { text } = await scrape(h);
      const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
      const findings = `${check.stdout}${check.stderr}`.split("\n").filter(Boolean);
      const prom = /^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/;
      expect(findings.filter((f) => !prom.test(f))).toEqual([]);
      expect([0, 3], `promtool exit ${check.status}`).toContain(check.status);
    },
  );

  it("answers within its budget with relctl_metrics_db_up 0 while the database does not answer", async () => {
    // Another session holds a lock the scrape's reads wait for.
    const blocker = postgres(h.db.url!, { max: 1, onnotice: () => {} });
    try {
      const locked = blocker.begin(async (tx) => {
        await tx`LOCK TABLE runs IN ACCESS EXCLUSIVE MODE`;
        await tx`SELECT pg_sleep(3)`;
      });
      await new Promise((r) => setTimeout(r, 200));
      const { status, text, ms } = await scrape(h);
      expect(status).toBe(200);
      expect(ms).toBeLessThan(2000);
      expect(seriesValue(text, "relctl_metrics_db_up")).toBe(0);
      expect(text).not.toMatch(/^relctl_deploys_total\{/m);
      expect(text).not.toMatch(/^relctl_releases\{/m);
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
      expect(text).toMatch(/^relctl_build_info\{/m);
      await locked;
      expect(seriesValue((await scrape(h)).text, "relctl_metrics_db_up")).toBe(1);
    } finally {
      await blocker.end();
    }
  });
});
