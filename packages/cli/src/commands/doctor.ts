import {
  checkHosts,
  createExecutor,
  describeDatabaseTarget,
  type HostCheck,
  resolveTarget,
} from "@relctl/core";
import { readEnvFlag } from "../env-flag.js";
import { RunbookCommand } from "../runbook-command.js";

export default class Doctor extends RunbookCommand<typeof Doctor> {
  static override summary =
    "Check the config, the database, and each host: reachable, host key matches, required commands present.";
  static override examples = ["<%= config.bin %> doctor", "<%= config.bin %> doctor --env production --json"];
  static override flags = { env: readEnvFlag("every environment") };

  async run() {
    const { flags } = await this.parse(Doctor);
    const checks: HostCheck[] = [];
    // Each check is a result: on stdout, so `relctl doctor > report.txt` keeps them.
    const print = (c: HostCheck) => this.log(`${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`);
    const add = (c: HostCheck) => {
      checks.push(c);
      print(c);
    };
    const ctx = await this.ctx();
    add({
      check: "database",
      ok: true,
      detail: describeDatabaseTarget(resolveTarget({ env: process.env, cwd: process.cwd() })),
    });
    const config = await ctx.config();
    add({
      check: "config",
      ok: Boolean(ctx.configFile),
      detail: ctx.configFile ?? "no relctl.yml (approvals use the defaults; runbooks need one)",
    });
    add({
      check: "repository",
      ok: Boolean(config.repository),
      detail: config.repository
        ? `${config.repository} (each host fetches its tags from here)`
        : "relctl.yml has no repository: deploys need the git URL or path the hosts fetch tags from",
    });
    // Hosts are checked at once: each line prints as it comes, the result lists them in order.
    checks.push(
      ...(await checkHosts(
        { executor: createExecutor() },
        { config, environment: flags.env, onCheck: print },
      )),
    );
    const failed = checks.filter((c) => !c.ok);
    this.log(
      failed.length
        ? `${failed.length} of ${checks.length} checks failed`
        : `all ${checks.length} checks passed`,
    );
    if (failed.length) process.exitCode = 4;
    return { ok: failed.length === 0, checks };
  }
}
