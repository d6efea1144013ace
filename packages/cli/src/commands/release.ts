import { Args, Flags } from "@oclif/core";
import { runDeploy, runRehearsal, validateTag } from "@relctl/core";
import { RunbookCommand } from "../runbook-command.js";

export default class Release extends RunbookCommand<typeof Release> {
  static override summary =
    "Run the stage part of a release: create it, deploy to stage, rehearse the rollback → manual_testing.";
  static override description =
    "Deploys the tag to the stage environment (git fetch, checkout, build, migrate, switch, health check), then rehearses the rollback to the previous release on stage — schema and code, down and up — and leaves the release waiting for approvals.";
  static override examples = [
    "<%= config.bin %> release hello v1.1.0",
    "<%= config.bin %> release hello v1.1.0 --stage qa --json",
  ];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    tag: Args.string({ description: "Tag to release.", required: true }),
  };
  static override flags = {
    stage: Flags.string({ description: "The stage environment.", default: "stage" }),
  };

  async run() {
    const { args, flags } = await this.parse(Release);
    validateTag(args.tag);
    const config = await this.serviceConfig(args.service);
    const actor = this.actor();
    const deps = await this.deps();
    this.note(`releasing ${config.service} ${args.tag}: stage deploy`);
    const deployed = await runDeploy(deps, { config, environment: flags.stage, tag: args.tag, actor });
    if (deployed.status !== "succeeded") return this.finishOutcome(deployed);
    this.note(deployed.message);
    this.note(`rehearsing the rollback on ${flags.stage}`);
    const rehearsed = await runRehearsal(deps, { config, environment: flags.stage, tag: args.tag, actor });
    return this.finishOutcome(rehearsed);
  }
}
