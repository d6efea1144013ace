import {
  type ApprovalPolicy,
  approvalPolicyFor,
  createExecutor,
  createGithubWorkflowDispatcher,
  DeployRequestStore,
  defaultConfig,
  ExternalError,
  MemberStore,
  nextAfterInterrupted,
  OutboxStore,
  openContext,
  primaryGate,
  type RelctlContext,
  RunStore,
  type ServiceConfig,
  TokenStore,
} from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { Bot } from "grammy";
import { createRedisDedupeCache, type RedisDedupeCache } from "./alerts/redis-dedupe-cache.js";
import type { AppDeps } from "./app-deps.js";
import { registerDatabaseMetrics } from "./database-metrics.js";
import { createDeployWorker } from "./deploy/deploy-worker.js";
import type { Deployer } from "./deploy/deployer.js";
import { createGithubDeployer, createUnconfiguredDeployer } from "./deploy/github-deployer.js";
import { createRunbookDeployer } from "./deploy/runbook-deployer.js";
import { buildHttpApp } from "./http/http-app.js";
import { createLogger, type Logger } from "./logger.js";
import { Metrics } from "./metrics.js";
import type { BotSettings } from "./settings.js";
import { BotPromptStore } from "./store/bot-prompt-store.js";
import { CallbackActionStore } from "./store/callback-action-store.js";
import { IncidentStore } from "./store/incident-store.js";
import { ReleaseCardStore } from "./store/release-card-store.js";
import { CardPublisher } from "./telegram/card-publisher.js";
import { createOutboxSender } from "./telegram/outbox-sender.js";
import { PressHandler } from "./telegram/press-handler.js";
import {
  createQueuedApi,
  createTelegramBot,
  installHandlers,
  publishCommands,
  retryDirectCalls,
} from "./telegram/telegram-bot.js";
import { describeTelegramError } from "./telegram/telegram-errors.js";
import { observeApiCalls } from "./telegram/telegram-tracing.js";

export interface ApprovalsServiceOptions {
  readonly settings: BotSettings;
  /** The environment, for the database and relctl.yml (only entry files read process.env). */
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly logger?: Logger;
  /** Replaces the runbook-backed deployer (tests); which services deploy by runbook is in settings. */
  readonly runbookDeployer?: Deployer;
  /** Listen on this port instead of settings.http.port (tests: 0). */
  readonly port?: number;
  /** Start the outbox sender and the deploy worker (default true). */
  readonly workers?: boolean;
}

export interface ApprovalsService {
  readonly url: string;
  readonly deps: AppDeps;
  readonly http: FastifyInstance;
  readonly bot: Bot | undefined;
  readonly sender: ReturnType<typeof createOutboxSender> | undefined;
  readonly worker: ReturnType<typeof createDeployWorker>;
  close(): Promise<void>;
}

/** Starts the approvals service: HTTP API, Telegram bot, outbox sender and deploy worker on one database. */
export async function startApprovalsService(options: ApprovalsServiceOptions): Promise<ApprovalsService> {
  const { settings } = options;
  const logger =
    options.logger ??
    createLogger({ secrets: settings.secrets, level: settings.logLevel, base: { service: "relctl-bot" } });
  // The service's pool gives up on a connection attempt after settings.database (2 s by default),
  // so that requests during a database outage are answered 503 quickly.
  const env = {
    ...options.env,
    RELCTL_DB_CONNECT_TIMEOUT: String(settings.database.connectTimeoutSeconds),
  };
  const ctx = await openContext({ env, cwd: options.cwd });
  const closers: (() => Promise<unknown>)[] = [() => ctx.close()];
  try {
    return await assemble(options, ctx, logger, closers);
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => {});
    throw err;
  }
}

const GITHUB_CALLS_HELP = "GitHub API calls, by method, route template and status (network: no answer).";
const GITHUB_TIME_HELP = "GitHub API call latency, by method and route template.";
const TELEGRAM_CALLS_HELP =
  "Telegram Bot API calls (long polling aside), by method and result: ok, Telegram's error code, or network.";
const TELEGRAM_TIME_HELP = "Telegram Bot API call latency (long polling aside), by method.";

async function assemble(
  options: ApprovalsServiceOptions,
  ctx: RelctlContext,
  logger: Logger,
  closers: (() => Promise<unknown>)[],
): Promise<ApprovalsService> {
  const { settings } = options;
  const sql = ctx.db.sql;
  const store = ctx.store;
  const deployers = new Map<string, Deployer>();
  const metrics = new Metrics();
  const countTelegramCall = (method: string, result: string, seconds: number) => {
    metrics.inc("relctl_telegram_api_requests_total", TELEGRAM_CALLS_HELP, { method, result });
    metrics.observe("relctl_telegram_api_request_duration_seconds", TELEGRAM_TIME_HELP, { method }, seconds);
  };
  const github = settings.github
    ? createGithubDeployer({
        store,
        dispatcher: createGithubWorkflowDispatcher({
          token: settings.github.token,
          ...(settings.github.baseUrl ? { baseUrl: settings.github.baseUrl } : {}),
          onCall: (c) => {
            const labels = { method: c.method, route: c.route };
            metrics.inc("relctl_github_api_requests_total", GITHUB_CALLS_HELP, {
              ...labels,
              status: c.status === null ? "network" : String(c.status),
            });
            metrics.observe(
              "relctl_github_api_request_duration_seconds",
              GITHUB_TIME_HELP,
              labels,
              c.seconds,
            );
          },
        }),
        github: settings.github,
        onLookupFailed: (err) =>
          logger.warn("github: the run a dispatch started could not be looked up", {
            error: err instanceof Error ? err.message : String(err),
          }),
      })
    : undefined;
  const deployerFor = (service: string): Deployer => {
    const via = settings.deployVia.services[service] ?? settings.deployVia.default;
    const cached = deployers.get(via);
    if (cached) return cached;
    const made =
      via === "github"
        ? (github ??
          createUnconfiguredDeployer(
            store,
            `${service} deploys through GitHub, but GITHUB_TOKEN and GITHUB_ORG are not set`,
          ))
        : (options.runbookDeployer ??
          createRunbookDeployer({
            deps: {
              releases: store,
              runs: new RunStore(sql),
              deployRequests: deploys,
              executor: createExecutor(),
              reporter: (event) => {
                if (event.type === "step-end") {
                  logger.info("runbook step", {
                    host: event.host,
                    step: event.step.id,
                    ok: event.ok,
                    ms: event.result.durationMs,
                  });
                } else if (event.type === "note") {
                  logger.info("runbook", { note: event.message });
                }
              },
            },
            store,
            configFor: (name) => ctx.config(name),
          }));
    deployers.set(via, made);
    return made;
  };
  const deploys = new DeployRequestStore(sql);
  const configFor = async (service: string): Promise<ServiceConfig> => {
    try {
      return await ctx.config(service);
    } catch {
      return defaultConfig(service);
    }
  };
  const deps: AppDeps = {
    sql,
    store,
    members: new MemberStore(sql),
    outbox: new OutboxStore(sql),
    deploys,
    runs: new RunStore(sql),
    decide: { releases: store, deployRequests: deploys, configFor },
    tokens: new TokenStore(sql),
    callbacks: new CallbackActionStore(sql),
    releaseCards: new ReleaseCardStore(sql),
    incidents: new IncidentStore(sql),
    prompts: new BotPromptStore(sql),
    logger,
    metrics,
    timeZone: settings.timeZone,
    async environmentFor(service: string): Promise<string> {
      return primaryGate(await configFor(service))?.name ?? "production";
    },
    async policyFor(service: string): Promise<ApprovalPolicy> {
      return approvalPolicyFor(await configFor(service));
    },
    deployerFor,
  };
  registerDatabaseMetrics(deps.metrics, sql);

  for (const chatId of settings.releaseChatIds)
    await deps.outbox.writeChat({ chatId, receivesReleases: true });
  for (const chatId of settings.alertChatIds) await deps.outbox.writeChat({ chatId, receivesAlerts: true });

  let cache: RedisDedupeCache | undefined;
  if (settings.redisUrl) {
    cache = createRedisDedupeCache(settings.redisUrl, settings.redisPrefix, logger);
    closers.push(() => cache!.close());
  }

  let bot: Bot | undefined;
  let sender: ReturnType<typeof createOutboxSender> | undefined;
  let press: PressHandler | undefined;
  if (settings.telegram) {
    bot = createTelegramBot(settings.telegram);
    observeApiCalls(bot.api, countTelegramCall);
    try {
      // One getMe, not bot.init(): grammY's init retries forever, and a start must fail visibly.
      bot.botInfo = await bot.api.getMe();
    } catch (err) {
      throw new ExternalError(
        "telegram_unreachable",
        `Telegram: getMe failed: ${describeTelegramError(err)}`,
        {
          hint: "check TELEGRAM_BOT_TOKEN and that the Bot API is reachable",
        },
      );
    }
    retryDirectCalls(bot);
    await publishCommands(bot.api).catch((err) =>
      logger.warn("telegram: the command list could not be set", { error: describeTelegramError(err) }),
    );
    const cards = new CardPublisher(deps, bot.api);
    press = new PressHandler(deps, bot.api, cards);
    installHandlers(bot, deps, press);
    const queued = createQueuedApi(settings.telegram);
    observeApiCalls(queued, countTelegramCall);
    sender = createOutboxSender(deps, queued, new CardPublisher(deps, queued), {
      intervalMs: settings.pollIntervalMs,
      retryBaseMs: settings.retryBaseMs,
    });
  }

  const http = await buildHttpApp(deps, {
    bodyLimit: settings.http.bodyLimit,
    allowIps: settings.http.allowIps,
    trustProxy: settings.http.trustProxy,
    tokenCacheMs: settings.http.tokenCacheMs,
    deadlineMs: settings.http.deadlineMs,
    rateLimit: settings.http.rateLimit,
    authFailureLimit: settings.http.authFailureLimit,
    ...(settings.http.metricsToken ? { metricsToken: settings.http.metricsToken } : {}),
    ...(settings.oidc ? { oidc: settings.oidc } : {}),
    ...(cache ? { cache, probes: [{ name: "redis", check: () => cache!.ping() }] } : {}),
    ...(bot && settings.telegram?.mode === "webhook" && settings.telegram.webhookSecret
      ? { webhook: { secret: settings.telegram.webhookSecret, handleUpdate: (u) => bot!.handleUpdate(u) } }
      : {}),
  });
  closers.push(() => http.close());
  const url = await http.listen({ host: settings.http.host, port: options.port ?? settings.http.port });

  const worker = createDeployWorker(
    { deploys: deps.deploys, deployerFor, logger },
    { workerId: settings.workerId, intervalMs: settings.pollIntervalMs, retryBaseMs: settings.retryBaseMs },
  );
  // Runs whose holder died (a killed CLI, a lost machine) are announced once per chat, and their
  // cards say what to do.
  const runWatch = setInterval(() => {
    void announceInterruptedRuns(deps).catch((err) => logger.warn("run watch failed", { err }));
  }, settings.runWatchMs);
  runWatch.unref();
  closers.push(async () => clearInterval(runWatch));
  if (options.workers !== false) {
    worker.start();
    sender?.start();
  }
  closers.push(() => worker.stop());
  if (sender) closers.push(() => sender!.stop());

  if (bot && settings.telegram?.mode === "polling") {
    void bot
      .start({ drop_pending_updates: false })
      .catch((err) => logger.error("telegram polling stopped", { err }));
    closers.push(() => bot!.stop());
  } else if (bot && settings.telegram?.webhookUrl) {
    await bot.api.setWebhook(settings.telegram.webhookUrl, {
      secret_token: settings.telegram.webhookSecret!,
      allowed_updates: ["message", "callback_query"],
    });
  }
  logger.info("relctl approvals service started", {
    url,
    telegram: settings.telegram?.mode ?? "off",
    database: ctx.db.target.kind,
    redis: Boolean(cache),
  });

  const housekeeping = setInterval(() => {
    const day = 24 * 3600_000;
    Promise.all([
      deps.callbacks.prune(30 * day),
      deps.outbox.pruneDone(30 * day),
      deps.prompts.prune(2 * day),
    ]).catch((err) => logger.warn("housekeeping failed", { err }));
  }, 3600_000);
  housekeeping.unref();
  closers.push(async () => clearInterval(housekeeping));

  let closed = false;
  return {
    url,
    deps,
    http,
    bot,
    sender,
    worker,
    async close() {
      if (closed) return;
      closed = true;
      for (const close of closers.reverse()) await close().catch(() => {});
    },
  };
}

/**
 * Queues one notice per release chat for each run whose holder stopped without finishing it, and
 * writes the interruption into the release's audit once (its card's history shows it).
 */
export async function announceInterruptedRuns(deps: AppDeps): Promise<number> {
  let queued = 0;
  for (const run of await deps.runs.interruptedRuns()) {
    const facts = { run_id: run.id, kind: run.kind, environment: run.environment };
    queued += (await deps.sql.begin(async (tx) => {
      // One process at a time per run, so two services watching never audit it twice.
      await tx`SELECT pg_advisory_xact_lock(hashtext('relctl:run.interrupted'), ${run.id}::int)`;
      const [seen] = await tx`SELECT 1 FROM audit_events WHERE action = 'run.interrupted'
        AND release_id = ${run.releaseId} AND (after->>'run_id')::bigint = ${run.id} LIMIT 1`;
      if (!seen)
        await deps.store.appendAudit(
          tx,
          { user: "relctl", channel: "system" },
          "run.interrupted",
          run.releaseId,
          null,
          facts,
        );
      return deps.outbox.enqueue(tx, {
        to: "release_chats",
        kind: "notice",
        eventKey: `run-interrupted:${run.id}`,
        releaseId: run.releaseId,
        payload: { notice: "run_interrupted", refresh_card: true, ...facts, next: nextAfterInterrupted(run) },
      });
    })) as number;
  }
  return queued;
}
