import type { EnvironmentConfig } from "../config/load.js";
import type { Step } from "../ports/executor.js";

/** What a strategy knows about the host it plans for. */
export interface HostPlanContext {
  readonly service: string;
  readonly repository: string;
  readonly env: EnvironmentConfig;
  /** The host's working directory (environment path, or the host's own override). */
  readonly path: string;
  /** Environment for every command: the environment's env merged with the host's. */
  readonly vars: Readonly<Record<string, string>>;
  /** Values never to print or store. */
  readonly secrets: readonly string[];
}

/**
 * A deployment strategy turns each phase of a runbook into steps for one host. Pure: it returns
 * values; only the runner executes them.
 */
export interface Strategy {
  readonly name: "releases" | "docker-compose" | "docker";
  /** Prints the tag currently live on the host (empty output when none). */
  current(ctx: HostPlanContext): Step;
  /** Read-only: exits 0 when the repository has the tag, 2 when it has not (git ls-remote). */
  tagPresent(ctx: HostPlanContext, tag: string): Step;
  /** Read-only: exits 0 when the release's files are on the host, 1 when they are not. */
  releasePresent(ctx: HostPlanContext, tag: string): Step;
  /** Brings the repository's tags to the host. */
  fetch(ctx: HostPlanContext): Step[];
  /** Makes the release's files (checkout) available. */
  checkout(ctx: HostPlanContext, tag: string): Step[];
  build(ctx: HostPlanContext, tag: string): Step[];
  /** Migrates up; with schema_version configured, the last step's last output line is the new version. */
  migrate(ctx: HostPlanContext, tag: string): Step[];
  /**
   * Migrates down to `version` with the code of `codeTag` (only newer code knows its down
   * migrations); reports the version it leaves like `migrate`.
   */
  migrateDown(ctx: HostPlanContext, codeTag: string, version: string): Step[];
  schemaVersion(ctx: HostPlanContext, tag: string): Step | undefined;
  /** Points the live service at `tag` and (re)starts it. Does not rebuild. */
  activate(ctx: HostPlanContext, tag: string): Step[];
  /** Removes releases (or images) that are no longer kept. */
  prune(ctx: HostPlanContext, tags: readonly string[]): Step[];
  /**
   * Blue/green behind a proxy (environment `proxy:`): starts `tag` beside the live instance, on
   * the slot the run picks on the host. The step runs as `sh -c` text with these in its
   * environment besides its own: PORT (the slot's port), RELCTL_SLOT ("blue" | "green"),
   * PIDFILE (<path>/.relctl/slots/<slot>.pid) and RELCTL_RELEASE_DIR (the release's folder; the
   * step's cwd). It must return once the instance runs, and leave it running after the step.
   * Undefined: the strategy cannot run two instances side by side.
   */
  slotStart?(ctx: HostPlanContext, tag: string): Step;
  /**
   * Stops the instance on a slot, with PORT, RELCTL_SLOT and PIDFILE as for slotStart; exits 0
   * when none runs. `tag`: the release whose files the command may use (its cwd). Undefined: relctl
   * ends the process in PIDFILE (TERM, then KILL after 10 s).
   */
  slotStop?(ctx: HostPlanContext, tag: string): Step | undefined;
}
