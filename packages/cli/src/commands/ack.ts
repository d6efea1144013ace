import * as Args from "@oclif/core/args";
import { acknowledgeHold, RunStore } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { changedEnvFlag } from "../env-flag.js";

export default class Ack extends BaseCommand<typeof Ack> {
  static override summary =
    "Acknowledge the rollback that holds deploys of a service to an environment, so deploys go on. Audited.";
  static override description =
    "After a rollback in an environment that needs approvals (automatic, by hand, or by relctl abort), further deploys there are held until someone acknowledges it.";
  static override examples = ["<%= config.bin %> ack hello --env production"];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = { env: changedEnvFlag() };

  async run() {
    const { args, flags } = await this.parse(Ack);
    const ctx = await this.ctx();
    const hold = await acknowledgeHold(
      { runs: new RunStore(ctx.db.sql), audit: ctx.store },
      { service: args.service, environment: flags.env },
      this.actor(),
    );
    this.log(
      `acknowledged: ${hold.reason} (held since ${hold.createdAt.toISOString()}); deploys of ${hold.service} to ${hold.environment} may go on`,
    );
    return {
      service: hold.service,
      environment: hold.environment,
      reason: hold.reason,
      held_since: hold.createdAt.toISOString(),
    };
  }
}
