import * as Args from "@oclif/core/args";
import { runRehearsal, stageEnvironmentOf, validateTag } from "@relctl/core";
import { changedEnvFlag } from "../env-flag.js";
import { RunbookCommand, verboseFlag } from "../runbook-command.js";

export default class Rehearse extends RunbookCommand<typeof Rehearse> {
  protected override readonly connectsToHosts = true;
  static override summary =
    "Rehearse the rollback of a release on stage, then restore it (→ manual_testing).";
  static override examples = ["<%= config.bin %> rehearse hello v1.1.0 --env stage"];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    tag: Args.string({ description: "The release on stage.", required: true }),
  };
  static override flags = {
    verbose: verboseFlag,
    env: changedEnvFlag(),
  };

  async run() {
    const { args, flags } = await this.parse(Rehearse);
    validateTag(args.tag);
    const config = await this.serviceConfig(args.service);
    const outcome = await runRehearsal(await this.deps(), {
      config,
      environment: stageEnvironmentOf(config, flags.env),
      tag: args.tag,
      actor: this.actor(),
    });
    return this.finishOutcome(outcome);
  }
}
