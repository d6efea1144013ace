import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { decideRelease, loadReleaseView, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { decideThroughApi, IDENTITY_HELP } from "../decide-through-api.js";
import { releaseViewJson, renderReleaseView } from "../render.js";

export default class Reject extends BaseCommand<typeof Reject> {
  static override summary = "Reject a release in manual_testing; it ends as manual_test_failed.";
  static override description = IDENTITY_HELP;
  static override examples = [
    'relctl login && <%= config.bin %> reject 12 --reason "login page broken"   # with RELCTL_API_URL',
    '<%= config.bin %> reject 12 --reason "login page broken" --as carol   # administrator mode',
  ];
  static override args = { id: Args.string({ description: "Release id.", required: true }) };
  static override flags = {
    reason: Flags.string({ description: "Why (shown to everyone).", required: true }),
    role: Flags.string({ description: "The role you reject as (default: the role whose turn it is)." }),
  };

  async run() {
    const { args, flags } = await this.parse(Reject);
    const id = validateReleaseId(args.id);
    const remote = this.personalApi();
    if (remote) {
      return decideThroughApi(this.output(), remote.api, id, "reject", {
        reason: flags.reason,
        ...(flags.role ? { role: flags.role } : {}),
      });
    }
    const ctx = await this.ctx();
    const result = await decideRelease(this.decidePorts(ctx), {
      releaseId: id,
      decision: "reject",
      reason: flags.reason,
      ...(flags.role ? { role: flags.role } : {}),
      actor: this.adminActor(),
    });
    const view = await loadReleaseView(ctx.store, id, result.policy);
    this.log(renderReleaseView(view));
    return releaseViewJson(view);
  }
}
