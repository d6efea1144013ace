import * as Flags from "@oclif/core/flags";
import { readReleasePage, validateService } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseJson, renderReleaseLine } from "../render.js";

export default class Releases extends BaseCommand<typeof Releases> {
  static override summary = "List releases, newest first: active, successful or failed.";
  static override examples = [
    "<%= config.bin %> releases --state active",
    "<%= config.bin %> releases --service auth --limit 200 --json",
  ];
  static override flags = {
    state: Flags.string({ description: "Which menu.", options: ["active", "successful", "failed"] }),
    service: Flags.string({ description: "Only this service." }),
    limit: Flags.integer({ description: "At most this many.", default: 50, min: 1, max: 1000 }),
  };

  async run() {
    const { flags } = await this.parse(Releases);
    const service = flags.service ? validateService(flags.service) : undefined;
    const { store } = await this.ctx();
    const page = await readReleasePage(store, {
      ...(service ? { service } : {}),
      ...(flags.state ? { group: flags.state as "active" | "successful" | "failed" } : {}),
      limit: flags.limit,
    });
    const shown = page.releases.length;
    this.log(shown ? page.releases.map(renderReleaseLine).join("\n") : "no releases");
    if (shown) this.log(countLine(shown, page.total));
    return { total: page.total, limit: flags.limit, releases: page.releases.map(releaseJson) };
  }
}

/** "3 releases" or "50 of 120 releases (--limit 120 shows them all)". */
export function countLine(shown: number, total: number, noun = "releases"): string {
  return shown < total
    ? `${shown} of ${total} ${noun} (--limit ${Math.min(total, 1000)} shows ${total > 1000 ? "more" : "them all"})`
    : `${total} ${noun}`;
}
