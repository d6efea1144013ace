import { createInterface } from "node:readline/promises";
import * as Flags from "@oclif/core/flags";
import { looksLikeApiToken, UsageError } from "@relctl/core";
import { BaseCommand } from "../base-command.js";
import { approvalsServiceUrl, createPersonalApi, saveLogin, validateApiUrl } from "../personal-api.js";

export default class Login extends BaseCommand<typeof Login> {
  static override summary =
    "Log in to the approvals service with your personal token (approve, reject, roll back as you).";
  static override description =
    "An admin makes the token for you: relctl tokens create <name> --member <your telegram id>. Paste it when asked, or pipe it in. relctl checks it with the service (GET /me) and keeps it in your config folder ($XDG_CONFIG_HOME/relctl/credentials.json, else ~/.config/relctl/credentials.json), readable by you only. With RELCTL_API_URL set, relctl approve, reject and rollback then act as that member.";
  static override examples = [
    "RELCTL_API_URL=https://relctl.example.com <%= config.bin %> login",
    "pass show relctl/token | <%= config.bin %> login --api-url https://relctl.example.com",
  ];
  static override flags = {
    "api-url": Flags.string({ description: "The approvals service (default: $RELCTL_API_URL)." }),
  };

  async run() {
    const { flags } = await this.parse(Login);
    if (this.flags.as !== undefined) {
      throw new UsageError(
        "as_refused",
        "as: refused: you log in as the member your personal token is bound to",
      );
    }
    const apiUrl = flags["api-url"]
      ? validateApiUrl(flags["api-url"], "api-url")
      : approvalsServiceUrl(process.env);
    if (!apiUrl) {
      throw new UsageError(
        "api_url_required",
        "api-url: name the approvals service (--api-url or RELCTL_API_URL)",
      );
    }
    const token = (await readToken()).trim();
    if (!looksLikeApiToken(token)) {
      throw new UsageError(
        "invalid_token",
        "token: expected a relctl token (rlc_…), as relctl tokens create prints it",
      );
    }
    const me = await createPersonalApi({ apiUrl, token }).call("GET", "/me");
    const member = me.member as { name: string; roles: string[] };
    const info = me.token as { name: string; expires_at: string | null };
    const file = saveLogin(process.env, {
      apiUrl,
      token,
      member: member.name,
      tokenName: info.name,
      expiresAt: info.expires_at,
    });
    this.log(`logged in to ${apiUrl} as ${member.name} (${member.roles.join(", ")})`);
    this.note(
      `token ${info.name} ${info.expires_at ? `works until ${info.expires_at}` : "never expires"}; kept in ${file} (0600)`,
    );
    return { api_url: apiUrl, member: me.member, token: info, file };
  }
}

/** The token from stdin: asked for on a terminal (not echoed), else read whole from the pipe. */
async function readToken(): Promise<string> {
  if (!process.stdin.isTTY) {
    let text = "";
    for await (const chunk of process.stdin) text += chunk;
    return text;
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  const write = (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput;
  let asked = false;
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    // The question is shown; what is typed after it is not.
    if (!asked) write.call(rl, s);
  };
  const answer = rl.question("personal token: ");
  asked = true;
  const token = await answer;
  rl.close();
  process.stderr.write("\n");
  return token;
}
