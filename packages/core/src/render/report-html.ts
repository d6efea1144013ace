import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { EffectivenessReport, ReportFigures } from "../adapters/postgres/report-reads.js";
import { reportJson } from "./report-json.js";

/**
 * The charts are drawn by Chart.js (MIT, released every few weeks for over a decade, one UMD file
 * with no dependencies, bar and line charts and their legends and tooltips built in), inlined
 * into the page: the page loads nothing from anywhere, so it opens offline, from a file or behind
 * a strict Content-Security-Policy. uPlot is smaller but draws time series only; bars per service
 * and a legend would be ours to write.
 */
let chartJs: string | undefined;
function chartJsSource(): string {
  if (chartJs === undefined) {
    const main = createRequire(import.meta.url).resolve("chart.js");
    chartJs = readFileSync(join(dirname(main), "chart.umd.min.js"), "utf8");
  }
  return chartJs;
}

/** What the page allows itself: its own inline script and style, nothing fetched. */
export const REPORT_PAGE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A duration for people: 42.0s, 12m05s, 3h12m, 2d4h. */
export function humanSeconds(s: number | null): string {
  if (s === null) return "–";
  if (s < 60) return `${s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86_400)}d${Math.round((s % 86_400) / 3600)}h`;
}
const percent = (v: number | null) => (v === null ? "–" : `${(v * 100).toFixed(1)}%`);

function figureRows(r: ReportFigures): [string, string, string][] {
  return [
    [
      "Mean deploy time",
      humanSeconds(r.deploys.meanSeconds),
      `${r.deploys.count} production deploys went live, median ${humanSeconds(r.deploys.medianSeconds)}`,
    ],
    [
      "Successful releases",
      percent(r.releases.successRate),
      `${r.releases.successful} of ${r.releases.finished} releases that ended in production`,
    ],
    [
      "MTTR",
      humanSeconds(r.recoveries.mttrSeconds),
      `mean of ${r.recoveries.count} recoveries (automatic and manual rollbacks)`,
    ],
    [
      "Incidents per month",
      String(r.incidentsPer30Days),
      `${r.incidents} failed deploys and manual rollbacks, per 30 days`,
    ],
    [
      "People per release",
      r.peoplePerRelease === null ? "–" : String(r.peoplePerRelease),
      "distinct people who acted on a release",
    ],
  ];
}

function doraRows(r: ReportFigures): [string, string, string][] {
  return [
    [
      "Deployment frequency",
      `${r.dora.deploymentsPerDay} / day`,
      `${r.deploys.count} production deploys went live`,
    ],
    [
      "Lead time for changes",
      humanSeconds(r.dora.leadTimeSeconds),
      "median, release created → its first production deploy ended",
    ],
    [
      "Change failure rate",
      percent(r.dora.changeFailureRate),
      `${r.dora.failedChanges} of ${r.dora.changes} production deploys failed or were rolled back`,
    ],
    [
      "Time to restore service",
      humanSeconds(r.dora.timeToRestoreSeconds),
      "median, failure → rollback ended",
    ],
  ];
}

const table = (title: string, rows: [string, string, string][]) =>
  `<section><h2>${escapeHtml(title)}</h2><table>${rows
    .map(
      ([k, v, note]) =>
        `<tr><th>${escapeHtml(k)}</th><td class="v">${escapeHtml(v)}</td><td>${escapeHtml(note)}</td></tr>`,
    )
    .join("")}</table></section>`;

function servicesTable(r: EffectivenessReport): string {
  if (r.services.length === 0) return "";
  const head = [
    "Service",
    "Deploys",
    "Mean deploy",
    "Success",
    "MTTR",
    "Incidents / month",
    "People",
    "Deploys / day",
    "Lead time",
    "Change failure",
    "Restore",
  ];
  const rows = r.services.map((s) =>
    [
      s.service,
      String(s.deploys.count),
      humanSeconds(s.deploys.meanSeconds),
      percent(s.releases.successRate),
      humanSeconds(s.recoveries.mttrSeconds),
      String(s.incidentsPer30Days),
      s.peoplePerRelease === null ? "–" : String(s.peoplePerRelease),
      String(s.dora.deploymentsPerDay),
      humanSeconds(s.dora.leadTimeSeconds),
      percent(s.dora.changeFailureRate),
      humanSeconds(s.dora.timeToRestoreSeconds),
    ]
      .map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`))
      .join(""),
  );
  return `<section><h2>Per service</h2><table class="grid"><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr>${rows
    .map((row) => `<tr>${row}</tr>`)
    .join("")}</table></section>`;
}

/** Draws the charts from the report's JSON; sets data-charts on <body> to how many it drew. */
const PAGE_SCRIPT = `
(function () {
  var r = JSON.parse(document.getElementById("report-data").textContent);
  var labels = r.periods.map(function (p) { return p.start.slice(0, 10); });
  var minutes = function (s) { return s === null ? null : Math.round(s / 6) / 10; };
  var pct = function (v) { return v === null ? null : Math.round(v * 1000) / 10; };
  var base = { animation: false, responsive: true, maintainAspectRatio: false,
    plugins: { legend: { position: "bottom" } } };
  var drawn = 0;
  function chart(id, config) {
    var el = document.getElementById(id);
    if (!el) return;
    new Chart(el, config);
    drawn++;
  }
  chart("chart-deploys", { type: "bar", options: base, data: { labels: labels, datasets: [
    { label: "went live", backgroundColor: "#2f7ed8", data: r.periods.map(function (p) { return p.deploys.count; }) },
    { label: "failed changes", backgroundColor: "#d9534f", data: r.periods.map(function (p) { return p.dora.failed_changes; }) }
  ] } });
  chart("chart-times", { type: "line", options: Object.assign({}, base, { spanGaps: true,
    scales: { y: { beginAtZero: true, title: { display: true, text: "minutes" } } } }), data: { labels: labels, datasets: [
    { label: "lead time (median)", borderColor: "#8e44ad", backgroundColor: "#8e44ad", data: r.periods.map(function (p) { return minutes(p.dora.lead_time_seconds); }) },
    { label: "time to restore (median)", borderColor: "#e67e22", backgroundColor: "#e67e22", data: r.periods.map(function (p) { return minutes(p.dora.time_to_restore_seconds); }) },
    { label: "deploy time (mean)", borderColor: "#16a085", backgroundColor: "#16a085", data: r.periods.map(function (p) { return minutes(p.deploys.mean_seconds); }) }
  ] } });
  chart("chart-rates", { type: "line", options: Object.assign({}, base, { spanGaps: true,
    scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } } }), data: { labels: labels, datasets: [
    { label: "change failure rate", borderColor: "#d9534f", backgroundColor: "#d9534f", data: r.periods.map(function (p) { return pct(p.dora.change_failure_rate); }) },
    { label: "successful releases", borderColor: "#27ae60", backgroundColor: "#27ae60", data: r.periods.map(function (p) { return pct(p.releases.success_rate); }) }
  ] } });
  chart("chart-services", { type: "bar", options: base, data: { labels: r.services.map(function (s) { return s.service; }), datasets: [
    { label: "went live", backgroundColor: "#2f7ed8", data: r.services.map(function (s) { return s.deploys.count; }) },
    { label: "failed changes", backgroundColor: "#d9534f", data: r.services.map(function (s) { return s.dora.failed_changes; }) },
    { label: "incidents", backgroundColor: "#f0ad4e", data: r.services.map(function (s) { return s.incidents; }) }
  ] } });
  document.body.setAttribute("data-charts", String(drawn));
})();
`;

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
p.meta { color: #666; margin: 0 0 16px; }
table { border-collapse: collapse; } th, td { text-align: left; padding: 4px 12px 4px 0; vertical-align: top; }
td.v { font-weight: 600; white-space: nowrap; } table.grid td, table.grid th { border-bottom: 1px solid #eee; }
.tables { display: flex; flex-wrap: wrap; gap: 32px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 24px; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: 4px; } .chart { position: relative; height: 260px; }
`;

const figure = (id: string, caption: string) =>
  `<figure><figcaption>${escapeHtml(caption)}</figcaption><div class="chart"><canvas id="${id}" role="img" aria-label="${escapeHtml(caption)}"></canvas></div></figure>`;

/** The report as one self-contained HTML page: tables, and charts drawn by the inlined Chart.js. */
export function renderReportHtml(r: EffectivenessReport): string {
  const scope = r.service ?? "all services";
  const title = `relctl report: ${scope}`;
  // JSON inside <script>: "<" escaped so that no value can close the element.
  const data = JSON.stringify(reportJson(r)).replace(/</g, "\\u003c");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${REPORT_PAGE_CSP}">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Production (gated environments), ${escapeHtml(r.since.toISOString())} to ${escapeHtml(r.until.toISOString())}, per ${r.interval}.</p>
<div class="tables">${table("Effectiveness", figureRows(r))}${table("DORA's four keys", doraRows(r))}</div>
<h2>Over time</h2>
<div class="charts">
${figure("chart-deploys", `Production deploys per ${r.interval}`)}
${figure("chart-times", "Lead time, time to restore, deploy time")}
${figure("chart-rates", "Change failure rate and successful releases")}
${r.services.length ? figure("chart-services", "Per service") : ""}
</div>
${servicesTable(r)}
<script type="application/json" id="report-data">${data}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
