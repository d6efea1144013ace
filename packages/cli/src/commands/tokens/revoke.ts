import * as Args from "@oclif/core/args";
import { TokenStore } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderToken, tokenJson } from "../../render-members.js";

export default class TokensRevoke extends BaseCommand<typeof TokensRevoke> {
  static override summary = "Revoke an API token.";
  static override examples = ["<%= config.bin %> tokens revoke ci-auth"];
  static override args = { name: Args.string({ description: "Token name.", required: true }) };

  async run() {
    const { args } = await this.parse(TokensRevoke);
    const actor = this.actor();
    const { db } = await this.ctx();
    const token = await new TokenStore(db.sql).revokeToken(args.name, actor);
    this.log(`revoked  ${renderToken(token)}`);
    return { token: tokenJson(token) };
  }
}
