import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { releaseToStage, validateTag } from "@relctl/core";
import { RunbookCommand, verboseFlag } from "../runbook-command.js";

export default class Release extends RunbookCommand<typeof Release> {
  protected override readonly connectsToHosts = true;
  static override summary =
    "Run the stage part of a release: create it, deploy to stage, rehearse the rollback → manual_testing.";
  static override description =
    "Deploys the tag to the stage environment (git fetch, checkout, build, migrate, switch, health check), then rehearses the rollback to the previous release on stage — schema and code, down and up — and leaves the release waiting for approvals. The release's status, the tag in the repository and the rehearsal target on the stage hosts are checked before anything changes. A tag whose release ended (failed, rejected, rolled back) is released again as a new attempt.";
  static override examples = [
    "<%= config.bin %> release hello v1.1.0",
    "<%= config.bin %> release hello v1.1.0 --stage qa --json",
  ];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    tag: Args.string({ description: "Tag to release.", required: true }),
  };
  static override flags = {
    verbose: verboseFlag,
    stage: Flags.string({
      description: "The stage environment (default: relctl.yml's `stage`, or the environment named stage).",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Release);
    validateTag(args.tag);
    const config = await this.serviceConfig(args.service);
    const outcome = await releaseToStage(await this.deps(), {
      config,
      tag: args.tag,
      actor: this.actor(),
      ...(flags.stage ? { environment: flags.stage } : {}),
      part: async (part, environment, run) => {
        this.note(
          part === "deploy"
            ? `releasing ${config.service} ${args.tag}: deploy to ${environment}`
            : `rehearsing the rollback on ${environment}`,
        );
        const outcome = await run();
        if (part === "deploy" && outcome.status === "succeeded") this.note(outcome.message);
        return outcome;
      },
    });
    return this.finishOutcome(outcome.last);
  }
}
