import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import * as Flags from "@oclif/core/flags";
import { parseConfig, UsageError, validateService } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { type InitAnswers, parseHostSpec, renderInitConfig, renderWorkflow } from "../init-files.js";

const WORKFLOWS = ["release.yml", "production.yml", "rollback.yml"] as const;

export default class Init extends BaseCommand<typeof Init> {
  static override summary =
    "Write a commented relctl.yml for a service, and the release, production and rollback workflows.";
  static override description =
    "Takes the service from flags, or asks on a terminal for what is missing (without a terminal every required flag must be given). Writes relctl.yml (or --config) and .github/workflows/{release,production,rollback}.yml next to it; refuses to overwrite any of them without --force. Then: relctl hosts trust stage, relctl hosts trust production, relctl doctor.";
  static override examples = [
    "<%= config.bin %> init",
    "<%= config.bin %> init --service hello --repository git@github.com:acme/hello.git --host deploy@10.0.0.5 --host deploy@10.0.0.6 --stage-host deploy@10.0.1.5",
  ];
  static override flags = {
    service: Flags.string({ description: "Service name." }),
    repository: Flags.string({ description: "Git repository the hosts fetch tags from (URL or path)." }),
    host: Flags.string({
      description: "A production host, [user@]address[:port] (repeat for several).",
      multiple: true,
    }),
    "stage-host": Flags.string({
      description: "A stage host, [user@]address[:port] (repeat; default: the production hosts).",
      multiple: true,
    }),
    path: Flags.string({
      description: "Folder of the service on production hosts (default: /srv/<service>).",
    }),
    "stage-path": Flags.string({ description: "Folder on stage hosts (default: <path>-stage)." }),
    user: Flags.string({ description: "SSH user of hosts that name none.", default: "deploy" }),
    "private-key": Flags.string({ description: "Private key file for the hosts (default: the SSH agent)." }),
    build: Flags.string({ description: "Build command run in each release's folder." }),
    start: Flags.string({ description: "Command that starts (or restarts) the current release." }),
    "health-url": Flags.string({ description: "Health URL checked after each switch." }),
    workflows: Flags.boolean({
      description: "Also write the GitHub Actions workflows.",
      default: true,
      allowNo: true,
    }),
    force: Flags.boolean({ description: "Overwrite files that exist." }),
  };

  async run() {
    const { flags } = await this.parse(Init);
    const configFile = resolve(flags.config ?? process.env.RELCTL_CONFIG ?? "relctl.yml");
    const root = dirname(configFile);
    const files = [
      configFile,
      ...(flags.workflows ? WORKFLOWS.map((w) => join(root, ".github", "workflows", w)) : []),
    ];
    const existing = files.filter((f) => existsSync(f));
    if (existing.length && !flags.force) {
      throw new UsageError(
        "file_exists",
        `force: ${existing.map((f) => relative(process.cwd(), f) || f).join(", ")} ${existing.length > 1 ? "exist" : "exists"}; pass --force to overwrite`,
      );
    }
    const ask = asker();
    try {
      const service = validateService(flags.service ?? (await ask("service", "Service name")));
      const repository = flags.repository ?? (await ask("repository", "Git repository (URL or path)"));
      const hostList = flags.host?.length
        ? flags.host
        : (await ask("host", "Production hosts ([user@]address[:port], comma-separated)")).split(",");
      const hosts = hostList.map((h) => parseHostSpec(h, "host", flags.user));
      const stageHosts = (flags["stage-host"] ?? []).map((h) => parseHostSpec(h, "stage-host", flags.user));
      const path = flags.path ?? `/srv/${service}`;
      const answers: InitAnswers = {
        service,
        repository,
        hosts,
        stageHosts: stageHosts.length ? stageHosts : hosts,
        path,
        stagePath: flags["stage-path"] ?? `${path}-stage`,
        ...(flags["private-key"] ? { privateKey: flags["private-key"] } : {}),
        ...(flags.build ? { build: flags.build } : {}),
        ...(flags.start ? { start: flags.start } : {}),
        ...(flags["health-url"] ? { healthUrl: flags["health-url"] } : {}),
      };
      const text = renderInitConfig(answers);
      // What is written must load: a flag that makes an invalid file is refused here, not later.
      parseConfig(text, { file: configFile, deferEnv: true });
      const written = [write(configFile, text)];
      if (flags.workflows) {
        for (const w of WORKFLOWS) {
          const example = readFileSync(new URL(`../templates/workflows/${w}`, import.meta.url), "utf8");
          written.push(write(join(root, ".github", "workflows", w), renderWorkflow(example, service)));
        }
      }
      const shown = written.map((f) => relative(process.cwd(), f) || f);
      this.log(`wrote ${shown.join(", ")}`);
      this.log("next: relctl hosts trust stage && relctl hosts trust production && relctl doctor");
      return { service, files: shown };
    } finally {
      ask.close();
    }
  }
}

function write(file: string, text: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** Asks on a terminal for a value no flag gave; without one, the flag is required. */
function asker(): ((field: string, question: string) => Promise<string>) & { close(): void } {
  const tty = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  let rl: ReturnType<typeof createInterface> | undefined;
  const ask = async (field: string, question: string) => {
    if (!tty)
      throw new UsageError("missing_flag", `${field}: required when not on a terminal (pass --${field})`);
    rl ??= createInterface({ input: process.stdin, output: process.stderr });
    const answer = (await rl.question(`${question}: `)).trim();
    if (!answer) throw new UsageError("missing_flag", `${field}: required`);
    return answer;
  };
  return Object.assign(ask, { close: () => rl?.close() });
}
