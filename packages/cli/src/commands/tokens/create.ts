import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { DEFAULT_TOKEN_LIFETIME, parseTokenLifetime, TokenStore, validateTelegramId } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { tokenJson } from "../../render-members.js";

export default class TokensCreate extends BaseCommand<typeof TokensCreate> {
  static override summary = "Create an API token for workflows or Alertmanager; the secret is printed once.";
  static override examples = [
    "<%= config.bin %> tokens create ci-auth --service auth",
    "<%= config.bin %> tokens create alertmanager --alerts",
    "<%= config.bin %> tokens create platform --service '*' --json",
    "<%= config.bin %> tokens create quinn --member 1001   # approves through the API as that member",
    "<%= config.bin %> tokens create ci-auth --service auth --expires 30d",
  ];
  static override args = {
    name: Args.string({ description: "Token name (a-z 0-9 . _ -).", required: true }),
  };
  static override flags = {
    service: Flags.string({ description: "A service it may act on (repeat; '*' for all).", multiple: true }),
    alerts: Flags.boolean({ description: "It may post Alertmanager webhooks to /alerts." }),
    expires: Flags.string({
      description: `How long it works: 12h, 30d, 8w … up to 5 years, or never (default ${DEFAULT_TOKEN_LIFETIME}).`,
      default: DEFAULT_TOKEN_LIFETIME,
    }),
    member: Flags.string({
      description:
        "The member (Telegram id) it acts as: it may approve and reject through the API with that member's roles.",
    }),
  };

  async run() {
    const { args, flags } = await this.parse(TokensCreate);
    const actor = this.actor();
    const lifetimeMs = parseTokenLifetime(flags.expires, "expires");
    const { db } = await this.ctx();
    const { token, secret } = await new TokenStore(db.sql).createToken(
      {
        name: args.name,
        services: flags.service ?? [],
        alerts: flags.alerts,
        lifetimeMs,
        ...(flags.member !== undefined ? { member: validateTelegramId(flags.member, "member") } : {}),
      },
      actor,
    );
    this.log(secret);
    const until = token.expiresAt ? `works until ${token.expiresAt.toISOString()}` : "never expires";
    this.note(
      `token ${token.name} (${token.scopes.join(", ")}): shown once, ${until}; relctl keeps only its hash`,
    );
    return { token: tokenJson(token), secret };
  }
}
