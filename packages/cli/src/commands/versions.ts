import * as Args from "@oclif/core/args";
import { listVersions, primaryGate, RunStore } from "@relctl/core";
import { readEnvFlag } from "../env-flag.js";
import { RunbookCommand } from "../runbook-command.js";

export default class Versions extends RunbookCommand<typeof Versions> {
  static override summary = "Show what is deployed to an environment and what it can be rolled back to.";
  static override examples = [
    "<%= config.bin %> versions hello",
    "<%= config.bin %> versions hello -e stage --json",
  ];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = {
    env: readEnvFlag("relctl.yml's primary gate, the environment production deploys go to"),
  };

  async run() {
    const { args, flags } = await this.parse(Versions);
    const config = await this.serviceConfig(args.service);
    const environment = flags.env ?? primaryGate(config)?.name ?? "production";
    const ctx = await this.ctx();
    const view = await listVersions(
      { runs: new RunStore(ctx.db.sql), releases: ctx.store },
      config,
      environment,
    );
    const lines = [
      `${config.service} on ${environment}: ${view.current ? `${view.current.tag} (schema ${view.current.schemaVersion ?? "-"}, since ${view.current.deployedAt.toISOString()})` : "nothing deployed"}`,
    ];
    lines.push(view.restorable.length ? "can roll back to:" : "nothing to roll back to");
    for (const v of view.restorable)
      lines.push(`  ${v.tag}  schema ${v.schemaVersion ?? "-"}  deployed ${v.deployedAt.toISOString()}`);
    this.log(lines.join("\n"));
    return {
      service: config.service,
      environment,
      current: view.current
        ? {
            tag: view.current.tag,
            schema_version: view.current.schemaVersion,
            deployed_at: view.current.deployedAt.toISOString(),
            release_id: view.current.releaseId,
          }
        : null,
      restorable: view.restorable.map((v) => ({
        tag: v.tag,
        schema_version: v.schemaVersion,
        deployed_at: v.deployedAt.toISOString(),
        release_id: v.releaseId,
      })),
      history: view.history.map((d) => ({
        tag: d.tag,
        state: d.state,
        schema_version: d.schemaVersion,
        deployed_at: d.deployedAt.toISOString(),
      })),
    };
  }
}
