import type {
  ApprovalPolicy,
  DecidePorts,
  DeployRequestStore,
  MemberStore,
  OutboxStore,
  ReleaseStore,
  TokenStore,
} from "@relctl/core";
import type { Sql } from "postgres";
import type { Deployer } from "./deploy/deployer.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { CallbackActionStore } from "./telegram/callback-actions.js";

/** What the bot, the HTTP routes and the workers share: stores on one database, and the ports. */
export interface AppDeps {
  readonly sql: Sql;
  readonly store: ReleaseStore;
  readonly members: MemberStore;
  readonly outbox: OutboxStore;
  readonly deploys: DeployRequestStore;
  readonly tokens: TokenStore;
  readonly callbacks: CallbackActionStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  policyFor(service: string): Promise<ApprovalPolicy>;
  /** The environment a service's approvals are for (its primary gate), where cards roll back. */
  environmentFor(service: string): Promise<string>;
  /** The ports of the approval use-case (every door decides through it). */
  readonly decide: DecidePorts;
  deployerFor(service: string): Deployer;
}
