import * as Flags from "@oclif/core/flags";
import {
  type DatabaseTarget,
  describeDatabaseTarget,
  grantRuntimeRole,
  openDatabase,
  pendingStoreMigrations,
  previewRuntimeGrants,
  readStoreSchemaVersion,
  resolveTarget,
  runStoreMigrations,
  UsageError,
  validateDatabaseUrl,
  validateRoleName,
} from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class DbMigrate extends BaseCommand<typeof DbMigrate> {
  static override summary = "Migrate relctl's own database schema forward (also done on every start).";
  static override description =
    "With two database roles, the owner migrates: --owner-url (or RELCTL_DATABASE_OWNER_URL) connects as the role that owns relctl's tables, functions and triggers, and --grant gives the role relctl runs as exactly what it needs (on the audit: INSERT and SELECT only), printing each statement. Run it again after every upgrade. A role that owns nothing cannot migrate: relctl run as it says so at start when a migration is pending.";
  static override examples = [
    "<%= config.bin %> db migrate",
    "<%= config.bin %> db migrate --owner-url postgres://relctl_owner@db/relctl --grant relctl",
    "<%= config.bin %> db migrate --owner-url postgres://relctl_owner@db/relctl --grant relctl --dry-run",
    "DATABASE_URL=postgres://relctl@db/relctl <%= config.bin %> db migrate --json",
  ];
  static override flags = {
    "owner-url": Flags.string({
      description:
        "Connect as the owner of relctl's schema (default: $RELCTL_DATABASE_OWNER_URL, else the database relctl uses).",
      env: "RELCTL_DATABASE_OWNER_URL",
    }),
    grant: Flags.string({
      description:
        "Then grant this role (the one relctl runs as) the runtime privileges, printing the statements.",
    }),
    "dry-run": Flags.boolean({ description: "Print the pending migrations and the grants; change nothing." }),
  };

  async run() {
    const { flags } = await this.parse(DbMigrate);
    const role = flags.grant === undefined ? undefined : validateRoleName(flags.grant);
    const target: DatabaseTarget = flags["owner-url"]
      ? { kind: "postgres", url: ownerUrl(flags["owner-url"]) }
      : resolveTarget({
          env: process.env,
          cwd: process.cwd(),
          ...(flags["state-dir"] ? { stateDir: flags["state-dir"] } : {}),
        });
    if (role && target.kind === "embedded") {
      throw new UsageError(
        "embedded_one_role",
        "grant: the embedded database has a single role; database roles need a PostgreSQL server",
        { hint: "set DATABASE_URL, or pass --owner-url" },
      );
    }
    const database = describeDatabaseTarget(target);
    const db = await openDatabase(target);
    try {
      if (flags["dry-run"]) {
        const version = await readStoreSchemaVersion(db.sql);
        const { pending, statements } = role
          ? await previewRuntimeGrants(db.sql, role)
          : { pending: await pendingStoreMigrations(db.sql), statements: [] };
        this.log(
          `${database}: schema version ${version}${pending.length ? `; would apply ${pending.join(", ")}` : " (up to date)"}`,
        );
        if (role) this.log(`would grant ${role}:\n${statements.map((s) => `  ${s};`).join("\n")}`);
        return { database, version, pending, ...(role ? { grants: { role, statements } } : {}) };
      }
      const applied = await runStoreMigrations(db.sql);
      const version = await readStoreSchemaVersion(db.sql);
      this.log(
        `${database}: schema version ${version}${applied.length ? ` (applied ${applied.join(", ")})` : " (up to date)"}`,
      );
      if (!role) return { database, version, applied };
      const statements = await grantRuntimeRole(db.sql, role);
      this.log(`granted ${role}:\n${statements.map((s) => `  ${s};`).join("\n")}`);
      return { database, version, applied, grants: { role, statements } };
    } finally {
      await db.close();
    }
  }
}

function ownerUrl(url: string): string {
  try {
    return validateDatabaseUrl(url);
  } catch {
    throw new UsageError("invalid_database_url", "owner-url: expected postgres://owner:pass@host:port/db");
  }
}
