import * as Args from "@oclif/core/args";
import { describeLock, RunStore, releaseLockByHand } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { changedEnvFlag } from "../../env-flag.js";

export default class LockRelease extends BaseCommand<typeof LockRelease> {
  static override summary =
    "Free a deploy lock: one taken by hand, or one a crashed run left behind. Audited.";
  static override examples = ["<%= config.bin %> lock release hello --env production"];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = { env: changedEnvFlag() };

  async run() {
    const { args, flags } = await this.parse(LockRelease);
    const ctx = await this.ctx();
    const freed = await releaseLockByHand(
      { runs: new RunStore(ctx.db.sql), audit: ctx.store },
      { service: args.service, environment: flags.env },
      this.actor(),
    );
    this.log(`freed ${freed.service}/${freed.environment}, held by ${describeLock(freed)}`);
    return {
      service: freed.service,
      environment: freed.environment,
      owner: freed.owner,
      reason: freed.reason,
    };
  }
}
