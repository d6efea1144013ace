import * as Args from "@oclif/core/args";
import { abortRun, RunStore } from "@relctl/core";
import { changedEnvFlag } from "../env-flag.js";
import { RunbookCommand, verboseFlag } from "../runbook-command.js";

export default class Abort extends RunbookCommand<typeof Abort> {
  static override summary =
    "Stop a deploy and put back the version that ran before, schema first: a run in progress, an interrupted one, or one whose automatic rollback failed.";
  static override description =
    "A run in progress (here or on another machine) is asked to stop: it ends its step on the host and rolls back as its plan says, and abort waits for it. A run whose holder stopped (killed, machine gone) or whose rollback failed is rolled back here: whatever of it still runs on a host is ended first, then migrations go down with the newer release's code to the recorded schema, every host switches back and is health-checked.";
  static override examples = ["<%= config.bin %> abort hello --env production"];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = { env: changedEnvFlag(), verbose: verboseFlag };

  async run() {
    const { args, flags } = await this.parse(Abort);
    const config = await this.serviceConfig(args.service);
    const ctx = await this.ctx();
    const deps = await this.deps();
    const result = await abortRun(
      { ...deps, runs: new RunStore(ctx.db.sql) },
      { config, environment: flags.env, actor: this.actor() },
    );
    if (result.kind === "rolled_back") return this.finishOutcome(result.outcome);
    this.log(result.message);
    return { run_id: result.run.id, status: result.run.status, message: result.message };
  }
}
