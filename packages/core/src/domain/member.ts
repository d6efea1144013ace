import { UsageError } from "../errors.js";
import { describe, validateService } from "./names.js";

/** The roles a member can hold. qa, devops and lead approve; admin manages and may roll back. */
export const MEMBER_ROLES = ["qa", "devops", "lead", "admin"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export type Locale = "en" | "ru";

/** A person allowed to act through Telegram, keyed by the numeric Telegram user id (usernames change). */
export interface Member {
  readonly telegramId: number;
  /** The relctl user name this person acts as everywhere (approvals, audit, `--as`). */
  readonly name: string;
  readonly roles: readonly MemberRole[];
  /** Services this member covers; empty: all. */
  readonly services: readonly string[];
  /** Environments this member covers; empty: all. */
  readonly environments: readonly string[];
  /** GitHub login (lowercase): a release initiated by it counts as initiated by this member. */
  readonly githubLogin: string | null;
  readonly locale: Locale;
}

export interface MemberInput {
  readonly telegramId: unknown;
  readonly name?: string | undefined;
  readonly roles: readonly string[];
  readonly services?: readonly string[] | undefined;
  readonly environments?: readonly string[] | undefined;
  readonly githubLogin?: string | null | undefined;
  readonly locale?: string | undefined;
}

const USER_NAME_RE = /^[A-Za-z0-9@._:+-]{1,64}$/;
const GITHUB_LOGIN_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const ENVIRONMENT_RE = /^[a-z][a-z0-9_-]{0,31}$/;

export function validateTelegramId(value: unknown, field = "telegram_id"): number {
  const n = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new UsageError(
      "invalid_telegram_id",
      `${field}: expected a numeric Telegram user id, got ${describe(value)}`,
      { hint: "ask the person to message @userinfobot, or read it from the bot's refusal message" },
    );
  }
  return n;
}

export function validateGithubLogin(value: unknown, field = "github"): string {
  if (typeof value !== "string" || !GITHUB_LOGIN_RE.test(value)) {
    throw new UsageError("invalid_github_login", `${field}: ${describe(value)} is not a GitHub login`);
  }
  return value.toLowerCase();
}

/** Checks and normalises a member. Pure. */
export function validateMember(input: MemberInput): Member {
  const telegramId = validateTelegramId(input.telegramId);
  const name = input.name ?? `tg:${telegramId}`;
  if (!USER_NAME_RE.test(name)) {
    throw new UsageError("invalid_member_name", `name: ${describe(name)} is not a valid user name`);
  }
  if (input.roles.length === 0) {
    throw new UsageError("roles_required", `role: a member needs at least one of ${MEMBER_ROLES.join(", ")}`);
  }
  const roles = [...new Set(input.roles)].map((r, i) => {
    if (!(MEMBER_ROLES as readonly string[]).includes(r)) {
      throw new UsageError(
        "invalid_role",
        `role[${i}]: ${describe(r)} is not a member role (one of ${MEMBER_ROLES.join(", ")})`,
      );
    }
    return r as MemberRole;
  });
  const services = [...new Set(input.services ?? [])].map((s, i) => validateService(s, `service[${i}]`));
  const environments = [...new Set(input.environments ?? [])].map((e, i) => {
    if (!ENVIRONMENT_RE.test(e)) {
      throw new UsageError(
        "invalid_environment",
        `environment[${i}]: ${describe(e)} is not an environment name`,
      );
    }
    return e;
  });
  const locale = input.locale ?? "en";
  if (locale !== "en" && locale !== "ru") {
    throw new UsageError("invalid_locale", `locale: expected "en" or "ru", got ${describe(locale)}`);
  }
  return {
    telegramId,
    name,
    roles,
    services,
    environments,
    githubLogin: input.githubLogin ? validateGithubLogin(input.githubLogin) : null,
    locale,
  };
}

/** Every identity of one member: approvals by any of them count as the same person. */
export function memberIdentities(member: Member): string[] {
  return [member.name, `tg:${member.telegramId}`, ...(member.githubLogin ? [member.githubLogin] : [])];
}
