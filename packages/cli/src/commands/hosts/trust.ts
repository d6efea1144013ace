import { readFile, writeFile } from "node:fs/promises";
import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { ExternalError, requireEnvironment, scanHostKey, UsageError } from "@relctl/core";
import { parseDocument } from "yaml";
import { RunbookCommand } from "../../runbook-command.js";

export default class HostsTrust extends RunbookCommand<typeof HostsTrust> {
  static override summary =
    "Record the SSH host keys of an environment's hosts in relctl.yml (trust on first use, explicitly).";
  static override description =
    "Connects to each host without logging in, reads the key it presents and writes its fingerprint as host_key. A host that already has a host_key is checked, not changed: a different key is an error.";
  static override examples = [
    "<%= config.bin %> hosts trust production",
    "<%= config.bin %> hosts trust stage --service hello",
  ];
  static override args = { env: Args.string({ description: "Environment.", required: true }) };
  static override flags = {
    service: Flags.string({ description: "Service (default: the one in relctl.yml)." }),
  };

  async run() {
    const { args, flags } = await this.parse(HostsTrust);
    const ctx = await this.ctx();
    const config = await this.serviceConfig(flags.service ?? (await ctx.config()).service);
    const env = requireEnvironment(config, args.env);
    const file = config.file!;
    const doc = parseDocument(await readFile(file, "utf8"));
    const results: { host: string; fingerprint: string; recorded: boolean }[] = [];
    for (const [i, host] of env.hosts.entries()) {
      if (host.address === "local") continue;
      const scanned = await scanHostKey(host.address, host.port, host.connectTimeoutMs ?? 10_000);
      if (host.hostKey) {
        const known = host.hostKey.startsWith("SHA256:")
          ? host.hostKey
          : host.hostKey.split(/\s+/).slice(0, 2).join(" ");
        if (known !== scanned.fingerprint && known !== scanned.publicKeyLine) {
          throw new ExternalError(
            "host_key_mismatch",
            `${host.name}: presents ${scanned.fingerprint}, relctl.yml has ${host.hostKey.slice(0, 60)}`,
            {
              hint: "if the host was rebuilt, check the new key out of band, then remove host_key and trust again",
            },
          );
        }
        results.push({ host: host.name, fingerprint: scanned.fingerprint, recorded: false });
        continue;
      }
      const path = ["environments", args.env, "hosts", i, "host_key"];
      if (!doc.hasIn(["environments", args.env, "hosts", i])) {
        throw new UsageError("config_invalid", `${file}: environments.${args.env}.hosts[${i}]: not found`);
      }
      doc.setIn(path, scanned.fingerprint);
      results.push({ host: host.name, fingerprint: scanned.fingerprint, recorded: true });
    }
    if (results.some((r) => r.recorded)) await writeFile(file, doc.toString());
    const actor = this.actor();
    await ctx.store.appendAudit(ctx.db.sql, actor, "hosts.trust", null, null, {
      service: config.service,
      environment: args.env,
      hosts: results,
    });
    this.log(
      results.map((r) => `${r.host}  ${r.fingerprint}  ${r.recorded ? "recorded" : "matches"}`).join("\n") ||
        "no SSH hosts",
    );
    return { environment: args.env, hosts: results };
  }
}
