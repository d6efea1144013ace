import { Args, Flags } from "@oclif/core";
import { approvalPolicyFor, loadReleaseView, validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseViewJson, renderReleaseView } from "../render.js";

export default class Approve extends BaseCommand<typeof Approve> {
  static override summary = "Approve a release in manual_testing for one of the policy's roles.";
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
    const actor = this.actor();
    const ctx = await this.ctx();
    const release = await ctx.store.requireRelease(id);
    const policy = approvalPolicyFor(await ctx.config(ctx.configFile ? undefined : release.service));
    const result = await ctx.store.decide(id, { role: flags.role, decision: "approve" }, policy, actor);
    const view = await loadReleaseView(ctx.store, id, policy);
    this.log(renderReleaseView(view));
    if (result.completed) this.note(`all approvals are in: release ${id} is ${result.release.status}`);
    return { completed: result.completed, ...releaseViewJson(view) };
  }
}
