import { Flags } from "@oclif/core";
import { createExecutor, describeDatabaseTarget, type EnvironmentHost, resolveTarget } from "@relctl/core";
import { RunbookCommand } from "../runbook-command.js";

interface Check {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Programs a runbook runs on every host, beyond what the configured commands need. */
const REQUIRED = ["sh", "git", "timeout", "readlink", "ln", "mv"];

export default class Doctor extends RunbookCommand<typeof Doctor> {
  static override summary =
    "Check the config, the database, and each host: reachable, host key matches, required commands present.";
  static override examples = ["<%= config.bin %> doctor", "<%= config.bin %> doctor --env production --json"];
  static override flags = { env: Flags.string({ description: "Only this environment." }) };

  async run() {
    const { flags } = await this.parse(Doctor);
    const checks: Check[] = [];
    const add = (check: string, ok: boolean, detail: string) => {
      checks.push({ check, ok, detail });
      this.note(`${ok ? "✓" : "✗"} ${check}: ${detail}`);
    };
    const ctx = await this.ctx();
    add("database", true, describeDatabaseTarget(resolveTarget({ env: process.env, cwd: process.cwd() })));
    const config = await ctx.config();
    add(
      "config",
      Boolean(ctx.configFile),
      ctx.configFile ?? "no relctl.yml (approvals use the defaults; runbooks need one)",
    );
    const executor = createExecutor();
    for (const [name, env] of Object.entries(config.environments)) {
      if (flags.env && flags.env !== name) continue;
      for (const host of env.hosts)
        await this.checkHost(executor, name, env.strategy, env.health?.from, host, add);
    }
    const failed = checks.filter((c) => !c.ok);
    this.log(
      failed.length
        ? `${failed.length} of ${checks.length} checks failed`
        : `all ${checks.length} checks passed`,
    );
    if (failed.length) process.exitCode = 4;
    return { ok: failed.length === 0, checks };
  }

  private async checkHost(
    executor: ReturnType<typeof createExecutor>,
    env: string,
    strategy: string,
    healthFrom: string | undefined,
    host: EnvironmentHost,
    add: (check: string, ok: boolean, detail: string) => void,
  ) {
    const label = `${env}/${host.name}`;
    let session: Awaited<ReturnType<typeof executor.open>>;
    try {
      session = await executor.open(host);
      add(
        `${label} reachable`,
        true,
        host.address === "local"
          ? "this machine"
          : `${host.user}@${host.address}:${host.port}, host key matches`,
      );
    } catch (err) {
      add(`${label} reachable`, false, (err as Error).message);
      return;
    }
    try {
      const programs = [
        ...REQUIRED,
        ...(healthFrom === "host" ? ["curl"] : []),
        ...(strategy === "docker-compose" ? ["docker"] : []),
      ];
      const probe = await session.run({
        id: "doctor",
        title: "required commands",
        argv: [
          "sh",
          "-c",
          'for p in "$@"; do command -v "$p" >/dev/null 2>&1 || echo "$p"; done',
          "sh",
          ...programs,
        ],
        timeoutMs: 15_000,
      });
      const missing = probe.stdout
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean);
      add(
        `${label} commands`,
        probe.exitCode === 0 && missing.length === 0,
        missing.length ? `missing: ${missing.join(", ")}` : programs.join(", "),
      );
    } finally {
      await session.close();
    }
  }
}
