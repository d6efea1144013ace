import * as Args from "@oclif/core/args";
import { MemberStore, memberJson, validateTelegramId } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderMember } from "../../render-members.js";

export default class MembersRemove extends BaseCommand<typeof MembersRemove> {
  static override summary = "Remove a member: their buttons are refused from then on.";
  static override examples = ["<%= config.bin %> members remove 123456789"];
  static override args = {
    "telegram-id": Args.string({ description: "Numeric Telegram user id.", required: true }),
  };

  async run() {
    const { args } = await this.parse(MembersRemove);
    const actor = this.actor();
    const { db } = await this.ctx();
    const member = await new MemberStore(db.sql).removeMember(validateTelegramId(args["telegram-id"]), actor);
    this.log(`removed  ${renderMember(member)}`);
    return { member: memberJson(member) };
  }
}
