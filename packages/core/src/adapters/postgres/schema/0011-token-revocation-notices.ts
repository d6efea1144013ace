import type { SchemaMigration } from "../migrations.js";

/** The NOTIFY channel on which a token's revocation (or deletion) is announced, with its id. */
export const TOKEN_REVOKED_CHANNEL = "relctl_token_revoked";

/**
 * A revoked or deleted API token is announced on relctl_token_revoked (payload: its id) when its
 * transaction commits, however it was revoked, so every service process forgets its cached
 * tokens at once.
 */
export const migration0011: SchemaMigration = {
  version: 11,
  name: "token revocation notices",
  sql: `
CREATE FUNCTION relctl_token_revoked() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_notify('${TOKEN_REVOKED_CHANNEL}', OLD.id::text);
  RETURN NULL;
END
$fn$;
CREATE TRIGGER api_tokens_revoked AFTER UPDATE OF revoked_at, token_hash, scopes OR DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION relctl_token_revoked();
`,
};
