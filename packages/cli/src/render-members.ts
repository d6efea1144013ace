import type { ApiToken, Member } from "@relctl/core";

export function renderMember(m: Member): string {
  const scope = [
    m.services.length ? `services: ${m.services.join(",")}` : "all services",
    m.environments.length ? `envs: ${m.environments.join(",")}` : "all environments",
  ];
  return `${m.telegramId}  ${m.name}  ${m.roles.join(",")}  ${scope.join("; ")}${m.githubLogin ? `  github: ${m.githubLogin}` : ""}  ${m.locale}`;
}

export function renderToken(t: ApiToken): string {
  return `${t.name}  ${t.prefix}…  ${t.scopes.join(",")}  created by ${t.createdBy} ${t.createdAt.toISOString()}${t.revokedAt ? `  revoked ${t.revokedAt.toISOString()}` : ""}`;
}

export function tokenJson(t: ApiToken): Record<string, unknown> {
  return {
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    created_by: t.createdBy,
    created_at: t.createdAt.toISOString(),
    revoked_at: t.revokedAt?.toISOString() ?? null,
  };
}
