import { Args, Flags } from "@oclif/core";
import { parseStatus, RELEASE_STATUSES, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseJson, renderReleaseLine } from "../render.js";

export default class ReleaseUpdate extends BaseCommand<typeof ReleaseUpdate> {
  static override summary =
    "Move a release to another status (what PATCH /release does), checked against the lifecycle.";
  static override description = `Statuses: ${RELEASE_STATUSES.join(", ")}.`;
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
    const id = validateReleaseId(args.id);
    const status = parseStatus(flags.status);
    const actor = this.actor();
    const { store } = await this.ctx();
    const release = await store.transition(id, status, actor, {
      ...(flags["rollback-to"] ? { rollbackToTag: flags["rollback-to"] } : {}),
      ...(flags["run-id"] ? { githubRunId: flags["run-id"] } : {}),
      ...(flags["run-link"] ? { githubActionLink: flags["run-link"] } : {}),
    });
    this.log(renderReleaseLine(release));
    return { release: releaseJson(release) };
  }
}
