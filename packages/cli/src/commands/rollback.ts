import { createInterface } from "node:readline/promises";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { planRollback, runRollback, UsageError, validateService, validateTag } from "@relctl/core";
import { IDENTITY_HELP, rollbackThroughApi } from "../decide-through-api.js";
import { changedEnvFlag } from "../env-flag.js";
import { RunbookCommand, verboseFlag } from "../runbook-command.js";

export default class Rollback extends RunbookCommand<typeof Rollback> {
  protected override readonly connectsToHosts = true;
  static override summary =
    "Roll an environment back to a chosen earlier tag: migrations down, switch, health check.";
  static override description =
    `${IDENTITY_HELP} Through the approvals service the rollback is requested as from the Telegram button (devops, lead or admin; the release that runs now; a version it can go back to) and its worker runs it.`;
  static override examples = [
    "<%= config.bin %> rollback hello --to v1.0.0 --env production --yes",
    "relctl login && <%= config.bin %> rollback hello --to v1.0.0 -e production -y   # with RELCTL_API_URL",
    "<%= config.bin %> versions hello --env production   # what can be rolled back to",
  ];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = {
    verbose: verboseFlag,
    to: Flags.string({ description: "The tag to go back to (see `relctl versions`).", required: true }),
    env: changedEnvFlag(),
    yes: Flags.boolean({
      char: "y",
      description: "Do not ask for confirmation (required when not on a terminal).",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(Rollback);
    validateTag(flags.to, "to");
    const remote = this.personalApi();
    if (remote) {
      const service = validateService(args.service);
      await this.confirm(flags.yes, `roll back ${service} on ${flags.env} to ${flags.to}? [y/N] `);
      return rollbackThroughApi(this.output(), remote.api, {
        service,
        environment: flags.env,
        to_tag: flags.to,
      });
    }
    const config = await this.serviceConfig(args.service);
    const actor = this.adminActor();
    const deps = await this.deps();
    const input = { config, environment: flags.env, toTag: flags.to, actor };
    const plan = await planRollback(deps, input);
    await this.confirm(
      flags.yes,
      `roll back ${config.service} on ${flags.env} from ${plan.current.tag} to ${plan.target.tag}? [y/N] `,
    );
    return this.finishOutcome(await runRollback(deps, input));
  }

  private async confirm(yes: boolean, question: string): Promise<void> {
    if (!yes) {
      if (!process.stdin.isTTY || !process.stderr.isTTY) {
        throw new UsageError(
          "confirmation_required",
          "yes: a rollback needs --yes when it is not run on a terminal",
        );
      }
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      const answer = await rl.question(question);
      rl.close();
      if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError("cancelled", "rollback cancelled");
    }
  }
}
