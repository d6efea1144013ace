import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { OidcStore, oidcPolicyJson, validateService } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderOidcPolicy } from "../../render-members.js";

export default class OidcRevoke extends BaseCommand<typeof OidcRevoke> {
  static override summary = "Revoke a workflow's OIDC access to a service (one by --id, else every one).";
  static override description =
    "Takes effect at once: every request's policies are read as it arrives, so the next ID token of that workflow is refused.";
  static override examples = [
    "<%= config.bin %> oidc revoke hello --id 3",
    "<%= config.bin %> oidc revoke hello",
  ];
  static override args = { service: Args.string({ description: "Service name.", required: true }) };
  static override flags = {
    id: Flags.integer({
      description: "The policy's id (see `relctl oidc list`); default: all of the service's.",
      min: 1,
    }),
  };

  async run() {
    const { args, flags } = await this.parse(OidcRevoke);
    const actor = this.actor();
    const { db } = await this.ctx();
    const revoked = await new OidcStore(db.sql).revoke(
      { service: validateService(args.service), ...(flags.id !== undefined ? { id: flags.id } : {}) },
      actor,
    );
    this.log(revoked.map((p) => `revoked  ${renderOidcPolicy(p)}`).join("\n"));
    return { revoked: revoked.map(oidcPolicyJson) };
  }
}
