import type {
  ApprovalPolicy,
  DecidePorts,
  DeployRequestStore,
  MemberStore,
  OutboxStore,
  ReleaseStore,
  RunStore,
  TokenStore,
} from "@relctl/core";
import type { Sql } from "postgres";
import type { Deployer } from "./deploy/deployer.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { BotPromptStore } from "./store/bot-prompt-store.js";
import type { CallbackActionStore } from "./store/callback-action-store.js";
import type { IncidentStore } from "./store/incident-store.js";
import type { ReleaseCardStore } from "./store/release-card-store.js";

/**
 * What the bot, the HTTP routes and the workers share: stores on one database (core's, and the
 * bot's own in ./store), and the ports.
 */
export interface AppDeps {
  readonly sql: Sql;
  readonly store: ReleaseStore;
  readonly members: MemberStore;
  readonly outbox: OutboxStore;
  readonly deploys: DeployRequestStore;
  /** Runbook runs and deploy locks, for what a card says of a run in progress or interrupted. */
  readonly runs: Pick<RunStore, "latestRunOf" | "getLock" | "interruptedRuns">;
  readonly tokens: TokenStore;
  readonly callbacks: CallbackActionStore;
  readonly releaseCards: ReleaseCardStore;
  readonly incidents: IncidentStore;
  readonly prompts: BotPromptStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The IANA time zone cards write their dates in (RELCTL_TIME_ZONE); UTC when not given. */
  readonly timeZone?: string;
  policyFor(service: string): Promise<ApprovalPolicy>;
  /** The environment a service's approvals are for (its primary gate), where cards roll back. */
  environmentFor(service: string): Promise<string>;
  /** The ports of the approval use-case (every door decides through it). */
  readonly decide: DecidePorts;
  deployerFor(service: string): Deployer;
}
