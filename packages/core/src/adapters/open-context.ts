import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultConfig, loadConfig, type ServiceConfig } from "../config/load.js";
import { UsageError } from "../errors.js";
import { isLocalTarget } from "../ports/executor.js";
import { preloadSshClient } from "./exec/ssh-executor.js";
import {
  type Database,
  type DatabaseTarget,
  openDatabase,
  resolveDatabaseTarget,
} from "./postgres/database.js";
import { runStoreMigrations } from "./postgres/migrations.js";
import { ReleaseStore } from "./postgres/release-store.js";

export interface ContextOptions {
  /** The environment (only entry files read process.env; they pass it here). */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** relctl.yml path; default: $RELCTL_CONFIG, else ./relctl.yml when it exists. */
  readonly configPath?: string;
  /** State folder for the embedded database; default: $RELCTL_STATE_DIR, else ./.relctl. */
  readonly stateDir?: string;
  /** Migrate relctl's schema forward on open (default true). */
  readonly migrate?: boolean;
  /**
   * The command will connect to the config's hosts (deploy, rollback, rehearse): when it names SSH
   * hosts, the SSH client library loads while the database opens. Nothing is contacted.
   */
  readonly connectsToHosts?: boolean;
}

/** Everything a command needs: the store on an open database, and the config when there is one. */
export interface RelctlContext {
  readonly db: Database;
  readonly store: ReleaseStore;
  readonly stateDir: string;
  readonly configFile: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** The service config from relctl.yml, or the defaults for `service` when there is no file. */
  config(service?: string): Promise<ServiceConfig>;
  close(): Promise<void>;
}

export function resolveStateDir(options: Pick<ContextOptions, "env" | "cwd" | "stateDir">): string {
  return resolve(options.cwd, options.stateDir ?? options.env.RELCTL_STATE_DIR ?? ".relctl");
}

export function resolveConfigFile(
  options: Pick<ContextOptions, "env" | "cwd" | "configPath">,
): string | undefined {
  const explicit = options.configPath ?? options.env.RELCTL_CONFIG;
  if (explicit) return resolve(options.cwd, explicit);
  const local = join(options.cwd, "relctl.yml");
  return existsSync(local) ? local : undefined;
}

export function resolveTarget(options: ContextOptions): DatabaseTarget {
  return resolveDatabaseTarget(options.env, resolveStateDir(options));
}

export async function openContext(options: ContextOptions): Promise<RelctlContext> {
  const stateDir = resolveStateDir(options);
  const configFile = resolveConfigFile(options);
  // Read the config before touching the database: a bad file must cost nothing.
  const fileConfig = configFile ? await loadConfig(configFile, options.env) : undefined;
  if (options.connectsToHosts && fileConfig && namesSshHosts(fileConfig)) preloadSshClient();
  const db = await openDatabase(resolveDatabaseTarget(options.env, stateDir));
  try {
    if (options.migrate !== false) await runStoreMigrations(db.sql);
  } catch (err) {
    await db.close();
    throw err;
  }
  return {
    db,
    store: new ReleaseStore(db.sql),
    stateDir,
    configFile,
    env: options.env,
    async config(service?: string) {
      if (fileConfig) {
        if (service && service !== fileConfig.service) {
          throw new UsageError(
            "service_mismatch",
            `service: "${service}" does not match ${configFile} (service: ${fileConfig.service})`,
            { hint: "pass --config with the service's relctl.yml" },
          );
        }
        return fileConfig;
      }
      return defaultConfig(service ?? "service");
    },
    close: () => db.close(),
  };
}

function namesSshHosts(config: ServiceConfig): boolean {
  return Object.values(config.environments).some((env) => env.hosts.some((h) => !isLocalTarget(h)));
}
