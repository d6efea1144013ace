import * as Flags from "@oclif/core/flags";
import { validateReleaseId } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { renderAudit } from "../render.js";

export default class Audit extends BaseCommand<typeof Audit> {
  static override summary = "Show the audit log (who did what, when, through which channel).";
  static override examples = ["<%= config.bin %> audit", "<%= config.bin %> audit --release 12 --json"];
  static override flags = {
    release: Flags.string({ description: "Only this release." }),
    limit: Flags.integer({ description: "The last N events.", default: 200, min: 1, max: 10000 }),
  };

  async run() {
    const { flags } = await this.parse(Audit);
    const releaseId = flags.release ? validateReleaseId(flags.release) : undefined;
    const { store } = await this.ctx();
    const events = await store.listAudit({ ...(releaseId ? { releaseId } : {}), limit: flags.limit });
    this.log(renderAudit(events));
    return {
      events: events.map((e) => ({
        id: e.id,
        at: e.at.toISOString(),
        actor: e.actor,
        channel: e.channel,
        action: e.action,
        release_id: e.releaseId,
        before: e.before,
        after: e.after,
        trace_id: e.traceId,
      })),
    };
  }
}
