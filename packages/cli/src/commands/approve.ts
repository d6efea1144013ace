import { Args, Flags } from "@oclif/core";
import { decideRelease, loadReleaseView, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseViewJson, renderReleaseView } from "../render.js";

export default class Approve extends BaseCommand<typeof Approve> {
  static override summary = "Approve a release in manual_testing for one of the policy's roles.";
  static override description =
    "The approval that completes the policy moves the release to manual_test_passed and requests its deploy to the gated environment (the approvals service starts it; `relctl deploy` runs it by hand).";
  static override examples = [
    "<%= config.bin %> approve 12 --role qa --as alice",
    "RELCTL_USER=bob <%= config.bin %> approve 12 --role devops",
  ];
  static override args = { id: Args.string({ description: "Release id.", required: true }) };
  static override flags = {
    role: Flags.string({ description: "The role you approve as (e.g. qa, devops, lead).", required: true }),
  };

  async run() {
    const { args, flags } = await this.parse(Approve);
    const id = validateReleaseId(args.id);
    const ctx = await this.ctx();
    const result = await decideRelease(this.decidePorts(ctx), {
      releaseId: id,
      decision: "approve",
      role: flags.role,
      actor: this.actor(),
    });
    const view = await loadReleaseView(ctx.store, id, result.policy);
    this.log(renderReleaseView(view));
    this.note(result.next);
    return {
      completed: result.completed,
      deploy_request: result.deployRequest
        ? { id: result.deployRequest.id, environment: result.deployRequest.environment }
        : null,
      next: result.next,
      ...releaseViewJson(view),
    };
  }
}
