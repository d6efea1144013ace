import { resolve } from "node:path";
import * as Flags from "@oclif/core/flags";
import {
  describeDatabaseTarget,
  openDatabase,
  resolveTarget,
  runStoreMigrations,
  serveEmbeddedDatabase,
} from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class DbServe extends BaseCommand<typeof DbServe> {
  static override summary = "Serve an embedded PostgreSQL (PGlite) folder on a loopback port until stopped.";
  static override description =
    "Without --data it keeps the server of relctl's own embedded state up (it otherwise stops RELCTL_EMBEDDED_IDLE seconds, default 300, after its last client). With --data it serves another folder (e.g. a sample service's database) and prints its URL.";
  static override examples = [
    "<%= config.bin %> db serve",
    "<%= config.bin %> db serve --data ./hello-db --port 0",
  ];
  static override flags = {
    data: Flags.string({ description: "A PGlite data folder to serve (created if missing)." }),
    port: Flags.integer({
      description: "Port on 127.0.0.1 (0: any free port).",
      default: 0,
      min: 0,
      max: 65535,
    }),
  };

  async run() {
    const { flags } = await this.parse(DbServe);
    if (flags.data) {
      const served = await serveEmbeddedDatabase(resolve(flags.data), flags.port);
      this.log(served.url);
      await waitForSignal();
      await served.close();
      return { url: served.url };
    }
    const target = resolveTarget({
      env: process.env,
      cwd: process.cwd(),
      ...(flags["state-dir"] ? { stateDir: flags["state-dir"] } : {}),
    });
    const db = await openDatabase(target);
    await runStoreMigrations(db.sql);
    this.log(describeDatabaseTarget(target));
    await waitForSignal();
    await db.close();
    return { database: describeDatabaseTarget(target) };
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((done) => {
    const stop = () => done();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
