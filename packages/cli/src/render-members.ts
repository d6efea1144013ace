import type { ApiToken, Member, OidcPolicy } from "@relctl/core";

export function renderMember(m: Member): string {
  const scope = [
    m.services.length ? `services: ${m.services.join(",")}` : "all services",
    m.environments.length ? `envs: ${m.environments.join(",")}` : "all environments",
  ];
  return `${m.telegramId}  ${m.name}  ${m.roles.join(",")}  ${scope.join("; ")}${m.githubLogin ? `  github: ${m.githubLogin}` : ""}  ${m.locale}`;
}

export function renderToken(t: ApiToken): string {
  const expiry = t.expiresAt
    ? `  ${t.expiresAt.getTime() <= Date.now() ? "expired" : "expires"} ${t.expiresAt.toISOString()}`
    : "";
  return `${t.name}  ${t.prefix}…  ${t.scopes.join(",")}  created by ${t.createdBy} ${t.createdAt.toISOString()}${expiry}${t.revokedAt ? `  revoked ${t.revokedAt.toISOString()}` : ""}`;
}

export function tokenJson(t: ApiToken): Record<string, unknown> {
  return {
    name: t.name,
    prefix: t.prefix,
    scopes: t.scopes,
    created_by: t.createdBy,
    created_at: t.createdAt.toISOString(),
    revoked_at: t.revokedAt?.toISOString() ?? null,
    expires_at: t.expiresAt?.toISOString() ?? null,
  };
}

export function renderOidcPolicy(p: OidcPolicy): string {
  return `${p.id}  ${p.service}  repository ${p.repositoryId}  owner ${p.ownerId}  ${p.workflow}  allowed by ${p.createdBy} ${p.createdAt.toISOString()}`;
}
