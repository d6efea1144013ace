import { MemberStore, memberJson } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderMember } from "../../render-members.js";

export default class MembersList extends BaseCommand<typeof MembersList> {
  static override summary = "List the members, their roles and what they cover.";
  static override examples = ["<%= config.bin %> members list", "<%= config.bin %> members list --json"];

  async run() {
    await this.parse(MembersList);
    const { db } = await this.ctx();
    const members = await new MemberStore(db.sql).listMembers();
    this.log(members.length ? members.map(renderMember).join("\n") : "no members");
    return { members: members.map(memberJson) };
  }
}
