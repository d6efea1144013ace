import * as Args from "@oclif/core/args";
import { OidcStore, oidcPolicyJson, validateService } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderOidcPolicy } from "../../render-members.js";

export default class OidcList extends BaseCommand<typeof OidcList> {
  static override summary = "List the workflows allowed to act on services with OIDC ID tokens.";
  static override examples = ["<%= config.bin %> oidc list", "<%= config.bin %> oidc list hello --json"];
  static override args = {
    service: Args.string({ description: "Only this service's (default: every service's)." }),
  };

  async run() {
    const { args } = await this.parse(OidcList);
    const { db } = await this.ctx();
    const policies = await new OidcStore(db.sql).list(
      args.service ? validateService(args.service) : undefined,
    );
    this.log(policies.length ? policies.map(renderOidcPolicy).join("\n") : "no workflow is allowed");
    return { policies: policies.map(oidcPolicyJson), total: policies.length };
  }
}
