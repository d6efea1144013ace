import { Args, Flags } from "@oclif/core";
import { describeLock, RunStore, validateService } from "@relctl/core";
import { BaseCommand } from "../base-command.js";

export default class LockRelease extends BaseCommand<typeof LockRelease> {
  static override summary = "Free a deploy lock (for a run that crashed and left one behind). Audited.";
  static override examples = ["<%= config.bin %> lock release hello --env production"];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = { env: Flags.string({ description: "Environment.", required: true }) };

  async run() {
    const { args, flags } = await this.parse(LockRelease);
    const service = validateService(args.service);
    const actor = this.actor();
    const ctx = await this.ctx();
    const freed = await new RunStore(ctx.db.sql).forceReleaseLock(service, flags.env);
    await ctx.store.appendAudit(
      ctx.db.sql,
      actor,
      "lock.release",
      null,
      { service, environment: flags.env, owner: freed.owner, reason: freed.reason },
      null,
    );
    this.log(`freed ${service}/${flags.env}, held by ${describeLock(freed)}`);
    return { service, environment: flags.env, owner: freed.owner, reason: freed.reason };
  }
}
