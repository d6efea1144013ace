import { Args, Flags } from "@oclif/core";
import { planDeploy, runDeploy, validateTag } from "@relctl/core";
import { renderPlan } from "../render.js";
import { RunbookCommand } from "../runbook-command.js";

export default class Deploy extends RunbookCommand<typeof Deploy> {
  static override summary =
    "Deploy a tag to an environment; an unhealthy production deploy rolls back by itself.";
  static override description =
    "Production takes a release in manual_test_passed (all approvals in). Migrations run once, on the first host; a failure on any host rolls every switched host back, migrations first.";
  static override examples = [
    "<%= config.bin %> deploy hello v1.1.0 --env production",
    "<%= config.bin %> deploy hello v1.1.0 --env production --dry-run",
  ];
  static override args = {
    service: Args.string({ description: "Service name.", required: true }),
    tag: Args.string({ description: "Tag to deploy.", required: true }),
  };
  static override flags = {
    env: Flags.string({ description: "Environment.", required: true }),
    "dry-run": Flags.boolean({
      description: "Print the steps (and the automatic rollback) without running anything.",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Deploy);
    validateTag(args.tag);
    const config = await this.serviceConfig(args.service);
    if (flags["dry-run"]) {
      const deps = await this.deps();
      const prev = await deps.runs.activeDeployment(config.service, flags.env);
      const plan = planDeploy(
        config,
        flags.env,
        args.tag,
        prev ? { tag: prev.tag, schemaVersion: prev.schemaVersion } : null,
      );
      this.log(renderPlan(plan));
      return {
        dry_run: true,
        previous_tag: prev?.tag ?? null,
        deploy: plan.deploy.map(planJson),
        rollback: plan.rollback.map(planJson),
      };
    }
    const outcome = await runDeploy(await this.deps(), {
      config,
      environment: flags.env,
      tag: args.tag,
      actor: this.actor(),
    });
    return this.finishOutcome(outcome);
  }
}

function planJson(p: {
  phase: string;
  host: string;
  step: { id: string; argv: readonly string[]; cwd?: string };
}) {
  return { phase: p.phase, host: p.host, step: p.step.id, argv: p.step.argv, cwd: p.step.cwd ?? null };
}
