import * as Args from "@oclif/core/args";
import { describeLock, lockAlive, lockJson, RunStore, validateService } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class LockStatus extends BaseCommand<typeof LockStatus> {
  static override summary =
    "Show the deploy locks held (all services, or one): holder, run, host, pid, last heartbeat.";
  static override examples = ["<%= config.bin %> lock status", "<%= config.bin %> lock status hello --json"];
  static override args = { service: Args.string({ description: "Only this service." }) };

  async run() {
    const { args } = await this.parse(LockStatus);
    const service = args.service ? validateService(args.service) : undefined;
    const ctx = await this.ctx();
    const locks = await new RunStore(ctx.db.sql).listLocks(service);
    const now = new Date();
    this.log(
      locks.length
        ? locks
            .map(
              (l) =>
                `${l.service}/${l.environment}: ${describeLock(l, now)}${lockAlive(l, now) ? "" : " (its holder stopped: the next run takes it over)"}`,
            )
            .join("\n")
        : "no deploy locks held",
    );
    return { locks: locks.map((l) => lockJson(l, now)) };
  }
}
