import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import {
  compensationItems,
  forwardItems,
  planDeployRun,
  planItemJson,
  runDeploy,
  validateTag,
} from "@relctl/core";
import { changedEnvFlag } from "../env-flag.js";
import { renderPlan } from "../render.js";
import { RunbookCommand, verboseFlag } from "../runbook-command.js";

export default class Deploy extends RunbookCommand<typeof Deploy> {
  protected override readonly connectsToHosts = true;
  static override summary = "Deploy a tag to an environment; an unhealthy deploy rolls back by itself.";
  static override description =
    "An environment that needs approvals (every one but the stage, unless its gate says approvals: false) takes only an approved release (manual_test_passed). Migrations run once, on the first host; a failure on any host rolls every switched host back, migrations first. --dry-run prints the plan the run executes, step for step, and runs nothing.";
  static override examples = [
    "<%= config.bin %> deploy hello v1.1.0 --env production",
    "<%= config.bin %> deploy hello v1.1.0 --env production --dry-run",
  ];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    tag: Args.string({ description: "Tag to deploy.", required: true }),
  };
  static override flags = {
    verbose: verboseFlag,
    env: changedEnvFlag(),
    "dry-run": Flags.boolean({
      description: "Print the steps (and the automatic rollback) without running anything.",
    }),
    "override-freeze": Flags.string({
      description:
        "Deploy inside a freeze window of the environment, saying why. Only a member with the role lead or admin may; audited.",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Deploy);
    validateTag(args.tag);
    const config = await this.serviceConfig(args.service);
    const actor = this.actor();
    const input = {
      config,
      environment: flags.env,
      tag: args.tag,
      actor,
      ...(flags["override-freeze"] !== undefined
        ? { override: await this.freezeOverride(actor.user, flags["override-freeze"]) }
        : {}),
    };
    if (flags["dry-run"]) {
      const { plan } = await planDeployRun(await this.deps(), input);
      const deploy = forwardItems(plan);
      const rollback = compensationItems(plan);
      this.log(renderPlan({ deploy, rollback }));
      return {
        dry_run: true,
        environment: plan.environment,
        role: plan.role,
        previous_tag: plan.previous?.tag ?? null,
        moves: plan.moves,
        deploy: deploy.map(planItemJson),
        rollback: rollback.map(planItemJson),
      };
    }
    return this.finishOutcome(await runDeploy(await this.deps(), input));
  }
}
