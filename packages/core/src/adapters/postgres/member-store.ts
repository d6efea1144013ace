import type { Sql } from "postgres";
import {
  type Locale,
  type Member,
  type MemberInput,
  type MemberRole,
  validateMember,
} from "../../domain/member.js";
import type { Actor } from "../../domain/release.js";
import { UsageError } from "../../errors.js";
import { ReleaseStore } from "./release-store.js";

type Row = Record<string, unknown>;

function memberFromRow(r: Row): Member {
  return {
    telegramId: Number(r.telegram_id),
    name: r.name as string,
    roles: r.roles as MemberRole[],
    services: r.services as string[],
    environments: r.environments as string[],
    githubLogin: (r.github_login as string | null) ?? null,
    locale: r.locale as Locale,
  };
}

function memberJson(m: Member): Record<string, unknown> {
  return {
    telegram_id: m.telegramId,
    name: m.name,
    roles: m.roles,
    services: m.services,
    environments: m.environments,
    github_login: m.githubLogin,
    locale: m.locale,
  };
}

/** Members and their roles; every change is audited in its transaction. */
export class MemberStore {
  private readonly audit: ReleaseStore;

  constructor(readonly sql: Sql) {
    this.audit = new ReleaseStore(sql);
  }

  /** Adds a member, or replaces the roles, scope, GitHub link and locale of an existing one. */
  async writeMember(input: MemberInput, actor: Actor): Promise<{ member: Member; created: boolean }> {
    const m = validateMember(input);
    return this.sql.begin(async (tx) => {
      const [before] = await tx`SELECT * FROM members WHERE telegram_id = ${m.telegramId} FOR UPDATE`;
      const clash = await tx`
        SELECT telegram_id, name, github_login FROM members
        WHERE telegram_id <> ${m.telegramId} AND (name = ${m.name} OR github_login = ${m.githubLogin})`;
      if (clash[0]) {
        const field = clash[0].name === m.name ? "name" : "github";
        throw new UsageError(
          "member_conflict",
          `${field}: already used by the member with Telegram id ${clash[0].telegram_id}`,
        );
      }
      const [row] = await tx`
        INSERT INTO members (telegram_id, name, roles, services, environments, github_login, locale)
        VALUES (${m.telegramId}, ${m.name}, ${m.roles as string[]}, ${m.services as string[]},
                ${m.environments as string[]}, ${m.githubLogin}, ${m.locale})
        ON CONFLICT (telegram_id) DO UPDATE SET name = excluded.name, roles = excluded.roles,
          services = excluded.services, environments = excluded.environments,
          github_login = excluded.github_login, locale = excluded.locale, updated_at = now()
        RETURNING *`;
      const member = memberFromRow(row!);
      await this.audit.appendAudit(
        tx,
        actor,
        before ? "member.update" : "member.add",
        null,
        before ? memberJson(memberFromRow(before)) : null,
        memberJson(member),
      );
      return { member, created: !before };
    }) as Promise<{ member: Member; created: boolean }>;
  }

  async removeMember(telegramId: number, actor: Actor): Promise<Member> {
    return this.sql.begin(async (tx) => {
      const [row] = await tx`DELETE FROM members WHERE telegram_id = ${telegramId} RETURNING *`;
      if (!row) throw new UsageError("member_not_found", `telegram_id: no member with id ${telegramId}`);
      const member = memberFromRow(row);
      await this.audit.appendAudit(tx, actor, "member.remove", null, memberJson(member), null);
      return member;
    }) as Promise<Member>;
  }

  async listMembers(): Promise<Member[]> {
    const rows = await this.sql`SELECT * FROM members ORDER BY name`;
    return rows.map(memberFromRow);
  }

  async findByTelegramId(telegramId: number): Promise<Member | undefined> {
    const [row] = await this.sql`SELECT * FROM members WHERE telegram_id = ${telegramId}`;
    return row ? memberFromRow(row) : undefined;
  }

  async setLocale(telegramId: number, locale: Locale): Promise<void> {
    await this
      .sql`UPDATE members SET locale = ${locale}, updated_at = now() WHERE telegram_id = ${telegramId}`;
  }
}

export { memberJson };
