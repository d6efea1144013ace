import { BaseCommand } from "../base-command.js";
import { credentialsPath, removeLogin } from "../personal-api.js";

export default class Logout extends BaseCommand<typeof Logout> {
  static override summary =
    "Forget the personal token relctl login saved (the token itself stays valid until revoked).";
  static override examples = ["<%= config.bin %> logout"];

  async run() {
    const file = credentialsPath(process.env);
    const removed = removeLogin(process.env);
    this.log(removed ? `logged out: removed ${file}` : "not logged in");
    this.note("to stop the token working everywhere, an admin revokes it: relctl tokens revoke <name>");
    return { removed, file };
  }
}
