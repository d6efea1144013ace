import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { parseStatus, RELEASE_STATUSES, updateReleaseStatus, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { releaseJson, renderReleaseLine } from "../../render.js";

export default class ReleaseUpdate extends BaseCommand<typeof ReleaseUpdate> {
  static override summary =
    "Report a step a workflow ran itself (what PATCH /release does), checked against the lifecycle.";
  static override description =
    `Statuses: ${RELEASE_STATUSES.join(", ")}. A workflow makes the stage moves, and production moves only for a release that passed its approvals; manual_test_passed and manual_test_failed come only from relctl approve / reject.`;
  static override examples = [
    "<%= config.bin %> release update 12 --status stage_building",
    "<%= config.bin %> release update 12 --status stage_test_rollback --rollback-to v0.9.0",
  ];
  static override args = { id: Args.string({ description: "Release id.", required: true }) };
  static override flags = {
    status: Flags.string({ description: "The new status.", required: true, options: [...RELEASE_STATUSES] }),
    "rollback-to": Flags.string({ description: "The tag this release rolls back to." }),
    "run-id": Flags.string({ description: "GitHub Actions run id." }),
    "run-link": Flags.string({ description: "Link to the workflow run." }),
  };

  async run() {
    const { args, flags } = await this.parse(ReleaseUpdate);
    const { store } = await this.ctx();
    const release = await updateReleaseStatus(
      store,
      {
        releaseId: validateReleaseId(args.id),
        status: parseStatus(flags.status),
        rollbackToTag: flags["rollback-to"],
        githubRunId: flags["run-id"],
        githubActionLink: flags["run-link"],
      },
      this.actor(),
    );
    this.log(renderReleaseLine(release));
    return { release: releaseJson(release) };
  }
}
