import * as Args from "@oclif/core/args";
import {
  approvalPolicyFor,
  DeployRequestStore,
  defaultConfig,
  loadReleaseView,
  primaryGate,
  RunStore,
  readRunState,
  validateReleaseId,
  validateService,
} from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { releaseJson, releaseViewJson, renderReleaseLine, renderReleaseView } from "../render.js";

export default class Status extends BaseCommand<typeof Status> {
  static override summary = "Show one release (by id) with its approvals, or a service's latest releases.";
  static override examples = ["<%= config.bin %> status 12", "<%= config.bin %> status auth --json"];
  static override args = {
    target: Args.string({ description: "Release id or service name.", required: true }),
  };

  async run() {
    const { args } = await this.parse(Status);
    const ctx = await this.ctx();
    if (/^\d+$/.test(args.target)) {
      const view = await loadReleaseView(ctx.store, validateReleaseId(args.target), async (release) =>
        approvalPolicyFor(await ctx.config(release.service).catch(() => defaultConfig(release.service))),
      );
      const run = await readRunState(new RunStore(ctx.db.sql), view.release);
      const service = view.release.service;
      const config = await ctx.config(service).catch(() => defaultConfig(service));
      const open = await new DeployRequestStore(ctx.db.sql).openRollbackOf(
        service,
        primaryGate(config)?.name ?? "production",
      );
      const rollback = open && open.releaseId === view.release.id ? open : undefined;
      this.log(renderReleaseView(view));
      if (run) this.log(`  last run: ${run.line}`);
      if (rollback)
        this.log(
          `  rollback: to ${rollback.toTag} under way (${rollback.state}), requested by ${rollback.requestedBy} at ${rollback.createdAt.toISOString()}`,
        );
      return {
        ...releaseViewJson(view),
        open_rollback: rollback
          ? {
              request_id: rollback.id,
              to_tag: rollback.toTag,
              state: rollback.state,
              requested_by: rollback.requestedBy,
              requested_at: rollback.createdAt.toISOString(),
            }
          : null,
        run: run
          ? {
              id: run.run.id,
              kind: run.run.kind,
              environment: run.run.environment,
              tag: run.run.tag,
              status: run.run.status,
              state: run.state,
              line: run.line,
            }
          : null,
      };
    }
    const service = validateService(args.target);
    const releases = await ctx.store.listReleases({ service, limit: 10 });
    this.log(releases.length ? releases.map(renderReleaseLine).join("\n") : `no releases of ${service}`);
    return { service, releases: releases.map(releaseJson) };
  }
}
