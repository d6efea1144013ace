import * as Flags from "@oclif/core/flags";
import { TokenStore } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderToken, tokenJson } from "../../render-members.js";

export default class TokensList extends BaseCommand<typeof TokensList> {
  static override summary = "List API tokens (names, scopes, prefixes; never the secrets).";
  static override examples = ["<%= config.bin %> tokens list", "<%= config.bin %> tokens list --all --json"];
  static override flags = { all: Flags.boolean({ description: "Include revoked tokens." }) };

  async run() {
    const { flags } = await this.parse(TokensList);
    const { db } = await this.ctx();
    const tokens = await new TokenStore(db.sql).listTokens({ includeRevoked: flags.all });
    this.log(tokens.length ? tokens.map(renderToken).join("\n") : "no tokens");
    return { tokens: tokens.map(tokenJson) };
  }
}
