import { Flags } from "@oclif/core";
import { validateService } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseJson, renderReleaseLine } from "../render.js";

export default class Releases extends BaseCommand<typeof Releases> {
  static override summary = "List releases: active, successful or failed.";
  static override examples = [
    "<%= config.bin %> releases --state active",
    "<%= config.bin %> releases --service auth --json",
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
    const releases = await store.listReleases({
      ...(service ? { service } : {}),
      ...(flags.state ? { group: flags.state as "active" | "successful" | "failed" } : {}),
      limit: flags.limit,
    });
    this.log(releases.length ? releases.map(renderReleaseLine).join("\n") : "no releases");
    return { releases: releases.map(releaseJson) };
  }
}
