import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { validateService, validateTag } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { releaseJson, renderReleaseLine } from "../../render.js";

export default class ReleaseCreate extends BaseCommand<typeof ReleaseCreate> {
  static override summary =
    "Create a release (idempotent: the same service and tag return the existing one).";
  static override examples = [
    "<%= config.bin %> release create auth v1.0.0",
    "<%= config.bin %> release create auth v1.0.0 --ref refs/tags/v1.0.0 --run-id 123 --json",
  ];
  static override args = {
    service: Args.string({ description: "Service name (a-z 0-9 . _ -).", required: true }),
    tag: Args.string({ description: "Release tag, e.g. v1.0.0.", required: true }),
  };
  static override flags = {
    ref: Flags.string({ description: "git ref the release was made from (e.g. refs/tags/v1.0.0)." }),
    "run-id": Flags.string({ description: "GitHub Actions run id." }),
    "run-link": Flags.string({ description: "Link to the workflow run." }),
  };

  async run() {
    const { args, flags } = await this.parse(ReleaseCreate);
    validateService(args.service);
    validateTag(args.tag);
    const actor = this.actor();
    const { store } = await this.ctx();
    const { release, created } = await store.createRelease(
      {
        service: args.service,
        tag: args.tag,
        githubRef: flags.ref ?? null,
        githubRunId: flags["run-id"] ?? null,
        githubActionLink: flags["run-link"] ?? null,
      },
      actor,
    );
    this.log(`${created ? "created" : "exists"}  ${renderReleaseLine(release)}`);
    return { created, release: releaseJson(release) };
  }
}
