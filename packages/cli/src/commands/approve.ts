import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { decideRelease, loadReleaseView, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { decideThroughApi, IDENTITY_HELP } from "../decide-through-api.js";
import { releaseViewJson, renderReleaseView } from "../render.js";

export default class Approve extends BaseCommand<typeof Approve> {
  static override summary = "Approve a release in manual_testing for one of the policy's roles.";
  static override description =
    `The approval that completes the policy moves the release to manual_test_passed and requests its deploy to the gated environment (the approvals service starts it; \`relctl deploy\` runs it by hand).\n\n${IDENTITY_HELP}`;
  static override examples = [
    "relctl login && <%= config.bin %> approve 12   # with RELCTL_API_URL: as the logged-in member, the role whose turn it is",
    "<%= config.bin %> approve 12 --role qa --as alice   # administrator mode (no RELCTL_API_URL)",
    "RELCTL_USER=bob <%= config.bin %> approve 12 --role devops",
  ];
  static override args = { id: Args.string({ description: "Release id.", required: true }) };
  static override flags = {
    role: Flags.string({
      description:
        "The role you approve as (e.g. qa, devops, lead); required in administrator mode, else the one your roles give now.",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Approve);
    const id = validateReleaseId(args.id);
    const remote = this.personalApi();
    if (remote) {
      return decideThroughApi(this.output(), remote.api, id, "approve", {
        ...(flags.role ? { role: flags.role } : {}),
      });
    }
    const ctx = await this.ctx();
    const result = await decideRelease(this.decidePorts(ctx), {
      releaseId: id,
      decision: "approve",
      ...(flags.role ? { role: flags.role } : {}),
      actor: this.adminActor(),
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
