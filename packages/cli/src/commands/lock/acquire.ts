import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { acquireLockByHand, describeLock, lockJson, RunStore } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { changedEnvFlag } from "../../env-flag.js";

export default class LockAcquire extends BaseCommand<typeof LockAcquire> {
  static override summary =
    "Hold a deploy lock by hand (e.g. during an incident): nothing deploys there until it is released. Audited.";
  static override examples = [
    '<%= config.bin %> lock acquire hello --env production --reason "incident 42: database failover"',
  ];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = {
    env: changedEnvFlag(),
    reason: Flags.string({ description: "Why (shown to whoever is refused).", required: true }),
  };

  async run() {
    const { args, flags } = await this.parse(LockAcquire);
    const ctx = await this.ctx();
    const lock = await acquireLockByHand(
      { runs: new RunStore(ctx.db.sql), audit: ctx.store },
      { service: args.service, environment: flags.env, reason: flags.reason },
      this.actor(),
    );
    this.log(
      `holding ${lock.service}/${lock.environment}: ${describeLock(lock)}; free it with: relctl lock release ${lock.service} --env ${lock.environment}`,
    );
    return { lock: lockJson(lock) };
  }
}
