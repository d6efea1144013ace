import { Flags } from "@oclif/core";
import { formatDuration, reportEffectiveness } from "@relctl/core";
import { BaseCommand } from "../base-command.js";

export default class Report extends BaseCommand<typeof Report> {
  static override summary =
    "Report deploy time, share of successful releases, MTTR, incidents and people involved, from what relctl recorded.";
  static override examples = [
    "<%= config.bin %> report",
    "<%= config.bin %> report --service auth --since 90d --json",
  ];
  static override flags = {
    service: Flags.string({ description: "Only this service." }),
    since: Flags.string({ description: "The period, back from now (e.g. 30d, 12h).", default: "30d" }),
  };

  async run() {
    const { flags } = await this.parse(Report);
    const ctx = await this.ctx();
    const r = await reportEffectiveness(ctx.db.sql, { since: flags.since, service: flags.service });
    const service = r.service;
    const dur = (s: number | null) => (s === null ? "-" : formatDuration(s * 1000));
    this.log(
      [
        `${service ?? "all services"}, since ${r.since.toISOString()}`,
        `  production deploys     ${r.deploys.count}, mean ${dur(r.deploys.meanSeconds)}, median ${dur(r.deploys.medianSeconds)}`,
        `  successful releases    ${r.releases.successful} of ${r.releases.finished}${r.releases.successRate === null ? "" : ` (${(r.releases.successRate * 100).toFixed(1)}%)`}`,
        `  recoveries (MTTR)      ${r.recoveries.count}, mean ${dur(r.recoveries.mttrSeconds)}`,
        `  incidents per 30 days  ${r.incidentsPer30Days}`,
        `  people per release     ${r.peoplePerRelease ?? "-"}`,
      ].join("\n"),
    );
    return {
      service: r.service,
      since: r.since.toISOString(),
      deploys: {
        count: r.deploys.count,
        mean_seconds: r.deploys.meanSeconds,
        median_seconds: r.deploys.medianSeconds,
      },
      releases: {
        finished: r.releases.finished,
        successful: r.releases.successful,
        success_rate: r.releases.successRate,
      },
      recoveries: { count: r.recoveries.count, mttr_seconds: r.recoveries.mttrSeconds },
      incidents_per_30_days: r.incidentsPer30Days,
      people_per_release: r.peoplePerRelease,
    };
  }
}
