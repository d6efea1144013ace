import type { Sql, TransactionSql } from "postgres";
import { UsageError } from "../../errors.js";
import { MIGRATIONS, pendingStoreMigrations } from "./migrations.js";

export type TablePrivilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE";

/**
 * What the role relctl runs as (the CLI, the approvals service, the action) may do on each of
 * relctl's tables: what the stores do there, nothing more. The audit is only ever appended to and
 * read; its chain is written by the owner's trigger. No table grants TRUNCATE, REFERENCES or
 * TRIGGER, and the role owns nothing, so it can change no schema (ALTER, DROP, DISABLE TRIGGER).
 * A migration that adds a table adds it here (a test fails otherwise).
 */
export const RUNTIME_TABLE_PRIVILEGES: Readonly<Record<string, readonly TablePrivilege[]>> = {
  relctl_schema_migrations: ["SELECT"],
  audit_events: ["SELECT", "INSERT"],
  audit_chain: ["SELECT"],
  // The events waiting for their link: written and emptied only by the owner's chain functions.
  audit_chain_pending: ["SELECT"],
  releases: ["SELECT", "INSERT", "UPDATE"],
  approvals: ["SELECT", "INSERT"],
  runs: ["SELECT", "INSERT", "UPDATE"],
  step_runs: ["SELECT", "INSERT"],
  deployments: ["SELECT", "INSERT", "UPDATE"],
  deploy_locks: ["SELECT", "INSERT", "UPDATE", "DELETE"],
  deploy_holds: ["SELECT", "INSERT", "UPDATE"],
  deploy_requests: ["SELECT", "INSERT", "UPDATE"],
  members: ["SELECT", "INSERT", "UPDATE", "DELETE"],
  api_tokens: ["SELECT", "INSERT", "UPDATE"],
  idempotency_keys: ["SELECT", "INSERT", "UPDATE"],
  telegram_chats: ["SELECT", "INSERT", "UPDATE"],
  release_cards: ["SELECT", "INSERT", "UPDATE"],
  callback_actions: ["SELECT", "INSERT", "DELETE"],
  bot_prompts: ["SELECT", "INSERT", "UPDATE", "DELETE"],
  outbox: ["SELECT", "INSERT", "UPDATE", "DELETE"],
  incident_messages: ["SELECT", "INSERT", "UPDATE"],
  oidc_policies: ["SELECT", "INSERT", "UPDATE"],
  oidc_token_uses: ["SELECT", "INSERT", "DELETE"],
};

const ROLE_NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;

/** A role name as a quoted identifier; refuses anything but a plain name. */
export function validateRoleName(role: string, what = "grant"): string {
  if (!ROLE_NAME.test(role)) {
    throw new UsageError(
      "invalid_role",
      `${what}: ${JSON.stringify(role)} is not a role name (letters, digits, _ $ -; up to 63)`,
    );
  }
  return role;
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The statements that give `role` exactly the runtime privileges in `schema` (each table's are
 * revoked first, so running them again after an upgrade also takes back what is no longer
 * needed). Sequences: USAGE (nextval for the bigserial ids), no setval. `tables`: only those of
 * RUNTIME_TABLE_PRIVILEGES that exist (default: all).
 */
export function runtimeGrantStatements(
  role: string,
  options: { schema?: string; database?: string; tables?: readonly string[] } = {},
): string[] {
  const r = ident(validateRoleName(role));
  const schema = ident(options.schema ?? "public");
  const statements: string[] = [];
  if (options.database) statements.push(`GRANT CONNECT ON DATABASE ${ident(options.database)} TO ${r}`);
  statements.push(`GRANT USAGE ON SCHEMA ${schema} TO ${r}`);
  for (const [table, privileges] of Object.entries(RUNTIME_TABLE_PRIVILEGES)) {
    if (options.tables && !options.tables.includes(table)) continue;
    statements.push(`REVOKE ALL ON TABLE ${schema}.${table} FROM ${r}`);
    statements.push(`GRANT ${privileges.join(", ")} ON TABLE ${schema}.${table} TO ${r}`);
  }
  statements.push(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${schema} FROM ${r}`);
  statements.push(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ${schema} TO ${r}`);
  return statements;
}

/**
 * Grants `role` the runtime privileges on the database `sql` is connected to (as its owner), in
 * one transaction; returns the statements it ran. The role must exist and must not be the owner.
 */
export async function grantRuntimeRole(sql: Sql, role: string): Promise<string[]> {
  validateRoleName(role);
  const [where] = await sql`
    SELECT current_database() AS database, current_schema() AS schema,
      (SELECT rolname FROM pg_roles WHERE rolname = ${role}) AS role,
      (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('audit_events')) AS owner,
      (SELECT rolsuper FROM pg_roles WHERE rolname = ${role}) AS superuser`;
  if (!where?.role) {
    throw new UsageError("role_not_found", `grant: no role ${JSON.stringify(role)} in the database server`, {
      hint: `create it first: CREATE ROLE ${ident(role)} LOGIN PASSWORD '…'`,
    });
  }
  if (!where.owner) {
    throw new UsageError("schema_missing", "grant: relctl's tables are not there yet (migrate first)");
  }
  if (where.owner === role || where.superuser) {
    throw new UsageError(
      "role_owns_schema",
      `grant: ${role} ${where.superuser ? "is a superuser" : "owns relctl's tables"}: the runtime role must be another role`,
      { hint: "relctl runs as a role of its own; the owner only migrates" },
    );
  }
  const statements = runtimeGrantStatements(role, {
    schema: where.schema as string,
    database: where.database as string,
    tables: await relctlTables(sql),
  });
  await sql.begin(async (tx) => {
    for (const s of statements) await tx.unsafe(s);
  });
  return statements;
}

/**
 * What `relctl db migrate --grant <role> --dry-run` prints: the statements grantRuntimeRole would
 * run once the pending migrations are applied (they are applied in a transaction that is rolled
 * back, to know the tables), and those migrations. Changes nothing.
 */
export async function previewRuntimeGrants(
  sql: Sql,
  role: string,
): Promise<{ pending: number[]; statements: string[] }> {
  validateRoleName(role);
  const pending = await pendingStoreMigrations(sql);
  const rolledBack = new Error("dry run");
  let statements: string[] = [];
  await sql
    .begin(async (tx) => {
      for (const m of MIGRATIONS) if (pending.includes(m.version)) await tx.unsafe(m.sql);
      const [where] = await tx`SELECT current_database() AS database, current_schema() AS schema`;
      statements = runtimeGrantStatements(role, {
        schema: where!.schema as string,
        database: where!.database as string,
        tables: await relctlTables(tx),
      });
      throw rolledBack;
    })
    .catch((err: unknown) => {
      if (err !== rolledBack) throw err;
    });
  return { pending, statements };
}

/** The tables in relctl's schema (the current one). */
export async function relctlTables(sql: Sql | TransactionSql): Promise<string[]> {
  const rows =
    await sql`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`;
  return rows.map((r) => r.tablename as string);
}
