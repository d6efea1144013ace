import * as Args from "@oclif/core/args";
import { RunStore, readRunLog, UsageError } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { renderRunLine, renderStep, runJson, stepJson } from "../render-runs.js";

export default class Logs extends BaseCommand<typeof Logs> {
  static override summary =
    "Show the steps of a run as recorded: host, command, exit code, duration and the output's tail.";
  static override examples = ["<%= config.bin %> logs 42", "<%= config.bin %> logs 42 --json"];
  static override args = {
    "run-id": Args.string({ description: "Run id (see `relctl runs`).", required: true }),
  };

  async run() {
    const { args } = await this.parse(Logs);
    const raw = args["run-id"];
    if (!/^[1-9]\d{0,15}$/.test(raw))
      throw new UsageError("invalid_run_id", `run-id: "${raw}" is not a run id (a positive whole number)`);
    const ctx = await this.ctx();
    const { run, steps } = await readRunLog(new RunStore(ctx.db.sql), Number(raw));
    this.log(renderRunLine(run));
    this.log(steps.length ? steps.map(renderStep).join("\n") : "no steps recorded");
    return { run: runJson(run), steps: steps.map(stepJson) };
  }
}
