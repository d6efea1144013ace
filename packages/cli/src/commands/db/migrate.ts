import {
  describeDatabaseTarget,
  openDatabase,
  readStoreSchemaVersion,
  resolveTarget,
  runStoreMigrations,
} from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class DbMigrate extends BaseCommand<typeof DbMigrate> {
  static override summary = "Migrate relctl's own database schema forward (also done on every start).";
  static override examples = [
    "<%= config.bin %> db migrate",
    "DATABASE_URL=postgres://relctl@db/relctl <%= config.bin %> db migrate --json",
  ];

  async run() {
    const { flags } = await this.parse(DbMigrate);
    const target = resolveTarget({
      env: process.env,
      cwd: process.cwd(),
      ...(flags["state-dir"] ? { stateDir: flags["state-dir"] } : {}),
    });
    const db = await openDatabase(target);
    try {
      const applied = await runStoreMigrations(db.sql);
      const version = await readStoreSchemaVersion(db.sql);
      this.log(
        `${describeDatabaseTarget(target)}: schema version ${version}${applied.length ? ` (applied ${applied.join(", ")})` : " (up to date)"}`,
      );
      return { database: describeDatabaseTarget(target), version, applied };
    } finally {
      await db.close();
    }
  }
}
