import * as Args from "@oclif/core/args";
import * as Flags from "@oclif/core/flags";
import { MemberStore, memberJson } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";
import { renderMember } from "../../render-members.js";

export default class MembersAdd extends BaseCommand<typeof MembersAdd> {
  static override summary =
    "Add a Telegram member with roles, or replace an existing member's roles and scope.";
  static override examples = [
    "<%= config.bin %> members add 123456789 --name quinn --role qa",
    "<%= config.bin %> members add 987654321 --name lee --role lead --role admin --github lee-gh --service auth",
  ];
  static override args = {
    "telegram-id": Args.string({
      description: "Numeric Telegram user id (usernames change).",
      required: true,
    }),
  };
  static override flags = {
    name: Flags.string({ description: "The relctl user name this person acts as (default tg:<id>)." }),
    role: Flags.string({
      description: "qa, devops, lead or admin (repeat for several).",
      multiple: true,
      required: true,
    }),
    service: Flags.string({ description: "Only these services (repeat; default all).", multiple: true }),
    env: Flags.string({
      char: "e",
      description: "Only these environments (repeat; default all).",
      multiple: true,
    }),
    github: Flags.string({ description: "GitHub login of the same person (four-eyes across channels)." }),
    locale: Flags.string({ description: "Language of the bot for this member.", options: ["en", "ru"] }),
  };

  async run() {
    const { args, flags } = await this.parse(MembersAdd);
    const actor = this.actor();
    const { db } = await this.ctx();
    const { member, created } = await new MemberStore(db.sql).writeMember(
      {
        telegramId: args["telegram-id"],
        name: flags.name,
        roles: flags.role,
        services: flags.service,
        environments: flags.env,
        githubLogin: flags.github ?? null,
        locale: flags.locale,
      },
      actor,
    );
    this.log(`${created ? "added" : "updated"}  ${renderMember(member)}`);
    return { created, member: memberJson(member) };
  }
}
