import { writeFileSync } from "node:fs";
import * as Flags from "@oclif/core/flags";
import {
  humanSeconds,
  REPORT_INTERVALS,
  renderReportHtml,
  reportEffectiveness,
  reportJson,
} from "@relctl/core";
import { BaseCommand } from "../base-command.js";

export default class Report extends BaseCommand<typeof Report> {
  static override summary =
    "Report deploy time, successful releases, MTTR, incidents, people per release and DORA's four keys, from what relctl recorded.";
  static override examples = [
    "<%= config.bin %> report",
    "<%= config.bin %> report --service auth --since 90d --json",
    "<%= config.bin %> report --since 180d --interval month --html report.html",
  ];
  static override flags = {
    service: Flags.string({ description: "Only this service." }),
    since: Flags.string({ description: "The period, back from now (e.g. 30d, 12h).", default: "30d" }),
    interval: Flags.string({
      description:
        "The length of each period of the series (default: day up to 45 days, week up to 182, else month).",
      options: [...REPORT_INTERVALS],
    }),
    html: Flags.string({ description: "Also write the report as an HTML page with charts to this file." }),
  };

  async run() {
    const { flags } = await this.parse(Report);
    const ctx = await this.ctx();
    const r = await reportEffectiveness(ctx.db.sql, {
      since: flags.since,
      service: flags.service,
      interval: flags.interval,
    });
    if (flags.html) writeFileSync(flags.html, renderReportHtml(r));
    const dur = humanSeconds;
    const pct = (v: number | null) => (v === null ? "" : ` (${(v * 100).toFixed(1)}%)`);
    this.log(
      [
        `${r.service ?? "all services"}, since ${r.since.toISOString()}`,
        `  production deploys       ${r.deploys.count}, mean ${dur(r.deploys.meanSeconds)}, median ${dur(r.deploys.medianSeconds)}`,
        `  successful releases      ${r.releases.successful} of ${r.releases.finished}${pct(r.releases.successRate)}`,
        `  recoveries (MTTR)        ${r.recoveries.count}, mean ${dur(r.recoveries.mttrSeconds)}`,
        `  incidents per 30 days    ${r.incidentsPer30Days}`,
        `  people per release       ${r.peoplePerRelease ?? "-"}`,
        "DORA",
        `  deployment frequency     ${r.dora.deploymentsPerDay} a day`,
        `  lead time for changes    ${dur(r.dora.leadTimeSeconds)} (median)`,
        `  change failure rate      ${r.dora.failedChanges} of ${r.dora.changes}${pct(r.dora.changeFailureRate)}`,
        `  time to restore service  ${dur(r.dora.timeToRestoreSeconds)} (median)`,
        ...(r.services.length > 1 && !r.service
          ? [
              "per service (deploys, success, change failure rate, lead time, restore)",
              ...r.services.map(
                (s) =>
                  `  ${s.service.padEnd(22)} ${s.deploys.count}, ${s.releases.successRate === null ? "-" : `${(s.releases.successRate * 100).toFixed(1)}%`}, ${s.dora.changeFailureRate === null ? "-" : `${(s.dora.changeFailureRate * 100).toFixed(1)}%`}, ${dur(s.dora.leadTimeSeconds)}, ${dur(s.dora.timeToRestoreSeconds)}`,
              ),
            ]
          : []),
        ...(flags.html ? [`HTML page with charts: ${flags.html}`] : []),
      ].join("\n"),
    );
    return reportJson(r);
  }
}
