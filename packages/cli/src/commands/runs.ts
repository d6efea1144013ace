import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { RunStore, readRunHistory, validateReleaseId, validateService } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { readEnvFlag } from "../env-flag.js";
import { renderRunLine, runJson } from "../render-runs.js";

export default class Runs extends BaseCommand<typeof Runs> {
  static override summary = "List the runs of a release (by id) or of a service, newest first.";
  static override description =
    "Each run: its kind, tag and environment, how it ended, who ran it and how long it took. `relctl logs <run-id>` shows its steps.";
  static override examples = [
    "<%= config.bin %> runs 12",
    "<%= config.bin %> runs hello -e production --limit 5 --json",
  ];
  static override args = {
    target: Args.string({ description: "Release id or service name.", required: true }),
  };
  static override flags = {
    env: readEnvFlag("every environment"),
    limit: Flags.integer({ description: "At most this many.", default: 20, min: 1, max: 1000 }),
  };

  async run() {
    const { args, flags } = await this.parse(Runs);
    const target = /^\d+$/.test(args.target)
      ? { releaseId: validateReleaseId(args.target) }
      : { service: validateService(args.target), ...(flags.env ? { environment: flags.env } : {}) };
    const ctx = await this.ctx();
    const { release, runs } = await readRunHistory(
      { runs: new RunStore(ctx.db.sql), releases: ctx.store },
      target,
      flags.limit,
    );
    if (runs.length === 0) this.log(release ? `no runs of release #${release.id}` : "no runs");
    else {
      this.log(runs.map(renderRunLine).join("\n"));
      this.log(
        `${runs.length} run${runs.length === 1 ? "" : "s"}${runs.length === flags.limit ? ` (the newest ${flags.limit}; --limit shows more)` : ""}; relctl logs <run-id> shows a run's steps`,
      );
    }
    return {
      ...(release ? { release_id: release.id, service: release.service } : { service: args.target }),
      limit: flags.limit,
      runs: runs.map(runJson),
    };
  }
}
