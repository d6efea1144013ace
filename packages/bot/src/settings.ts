import { DEFAULT_OIDC_AUDIENCE, GITHUB_OIDC_ISSUER, parseConnectTimeout, UsageError } from "@relctl/core";
import { LOG_LEVELS, type LogLevel } from "./logger.js";

function logLevelOf(value: string | undefined): LogLevel {
  const level = (value ?? "info").trim().toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(
      "invalid_env",
      `LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}, got "${value}"`,
    );
  }
  return level as LogLevel;
}

export type DeployVia = "github" | "runbook";

export interface TelegramSettings {
  readonly token: string;
  /** Bot API root; default https://api.telegram.org (tests: an emulator). */
  readonly apiRoot?: string;
  readonly mode: "webhook" | "polling";
  readonly webhookSecret?: string;
  /** Public URL Telegram posts updates to; set with setWebhook at start when given. */
  readonly webhookUrl?: string;
}

export interface GithubSettings {
  readonly token: string;
  readonly org: string;
  readonly baseUrl?: string;
  readonly ref: string;
  readonly deployWorkflow: string;
  readonly rollbackWorkflow: string;
}

/** Everything the approvals service is configured with. Built from the environment by `loadBotSettings`. */
export interface BotSettings {
  readonly telegram?: TelegramSettings;
  readonly alertChatIds: readonly number[];
  readonly releaseChatIds: readonly number[];
  readonly github?: GithubSettings;
  readonly deployVia: { readonly default: DeployVia; readonly services: Readonly<Record<string, DeployVia>> };
  readonly redisUrl?: string;
  readonly redisPrefix: string;
  readonly http: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimit: number;
    readonly allowIps: readonly string[];
    readonly trustProxy: boolean;
    /** How long a verified API token is remembered (a revocation takes effect within it). */
    readonly tokenCacheMs: number;
    /** Every request but the Telegram webhook is answered within this: 503 with Retry-After past it. */
    readonly deadlineMs: number;
    /** Requests per minute one address may make to the API (RELCTL_RATE_LIMIT; 0: no limit). */
    readonly rateLimit: number;
    /** Failed authentications per minute one address may make before it is refused for a minute. */
    readonly authFailureLimit: number;
    /** With it, /metrics wants `Authorization: Bearer <it>` from any address (RELCTL_METRICS_TOKEN). */
    readonly metricsToken?: string;
  };
  /** GitHub OIDC ID tokens from workflows: the exact issuer and audience (RELCTL_OIDC_*); off: none. */
  readonly oidc?: { readonly issuer: string; readonly audience: string };
  readonly database: {
    /** How long opening one database connection may take (RELCTL_DB_CONNECT_TIMEOUT), in seconds. */
    readonly connectTimeoutSeconds: number;
  };
  readonly workerId: string;
  readonly pollIntervalMs: number;
  /** How often runs whose holder died are looked for, to announce them (RELCTL_RUN_WATCH_MS). */
  readonly runWatchMs: number;
  /** First back-off after a 5xx or network error; doubles per attempt up to a minute. */
  readonly retryBaseMs: number;
  /** Values the logs must never show. */
  readonly secrets: readonly string[];
  /** The lowest log level written (LOG_LEVEL: trace, debug, info, warn, error, fatal, silent). */
  readonly logLevel: LogLevel;
  /** The IANA time zone release cards write their dates in (RELCTL_TIME_ZONE; default UTC). */
  readonly timeZone: string;
}

/** RELCTL_TIME_ZONE: an IANA time zone name (Europe/Berlin), or UTC. */
export function parseTimeZone(value: string | undefined): string {
  const zone = (value ?? "").trim() || "UTC";
  try {
    return new Intl.DateTimeFormat("en", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new UsageError(
      "invalid_env",
      `RELCTL_TIME_ZONE: expected an IANA time zone such as Europe/Berlin or UTC, got ${JSON.stringify(zone.slice(0, 60))}`,
    );
  }
}

/** RELCTL_OIDC_ISSUER (an https URL, http only on loopback; `off` takes no ID tokens) and RELCTL_OIDC_AUDIENCE. */
export function parseOidcSettings(env: NodeJS.ProcessEnv): BotSettings["oidc"] {
  const issuer = (env.RELCTL_OIDC_ISSUER ?? GITHUB_OIDC_ISSUER).trim();
  if (issuer === "off") return undefined;
  let url: URL | undefined;
  try {
    url = new URL(issuer);
  } catch {
    url = undefined;
  }
  const loopback = url && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(url.hostname);
  if (
    !url ||
    !(url.protocol === "https:" || (url.protocol === "http:" && loopback)) ||
    url.search ||
    url.hash
  ) {
    throw new UsageError(
      "invalid_env",
      `RELCTL_OIDC_ISSUER: expected an https URL (or off), got ${JSON.stringify(issuer.slice(0, 80))}`,
    );
  }
  const audience = (env.RELCTL_OIDC_AUDIENCE ?? DEFAULT_OIDC_AUDIENCE).trim();
  if (!/^[\x21-\x7e]{1,255}$/.test(audience)) {
    throw new UsageError("invalid_env", "RELCTL_OIDC_AUDIENCE: 1-255 visible ASCII characters");
  }
  return { issuer, audience };
}

function chatIds(value: string | undefined, name: string): number[] {
  if (!value) return [];
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      if (!/^-?\d{1,20}$/.test(s))
        throw new UsageError("invalid_env", `${name}: "${s}" is not a Telegram chat id`);
      return Number(s);
    });
}

function int(value: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      "invalid_env",
      `${name}: expected a whole number from ${min} to ${max}, got "${value}"`,
    );
  }
  return n;
}

/** `github` or `runbook`, optionally per service: "github,auth=runbook". */
export function parseDeployVia(value: string | undefined, hasGithub: boolean): BotSettings["deployVia"] {
  const services: Record<string, DeployVia> = {};
  let def: DeployVia = hasGithub ? "github" : "runbook";
  for (const part of (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [a, b] = part.split("=");
    const via = (b ?? a) as DeployVia;
    if (via !== "github" && via !== "runbook") {
      throw new UsageError("invalid_env", `RELCTL_DEPLOY_VIA: "${part}": expected github or runbook`);
    }
    if (b === undefined) def = via;
    else services[a!] = via;
  }
  return { default: def, services };
}

/**
 * Reads the seed's variables (TELEGRAM_BOT_TOKEN, ALERT_CHAT_ID, GITHUB_TOKEN, GITHUB_ORG, REDIS_URL;
 * the database's DATABASE_URL / DB_* are read by core) and relctl's own. Pure: takes the env object.
 */
export function loadBotSettings(env: NodeJS.ProcessEnv): BotSettings {
  const token = env.TELEGRAM_BOT_TOKEN?.trim();
  const webhookSecret = env.TELEGRAM_WEBHOOK_SECRET?.trim();
  if (webhookSecret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(webhookSecret)) {
    throw new UsageError("invalid_env", "TELEGRAM_WEBHOOK_SECRET: 1-256 characters A-Z a-z 0-9 _ -");
  }
  const mode = (env.TELEGRAM_MODE ?? (webhookSecret ? "webhook" : "polling")) as "webhook" | "polling";
  if (mode !== "webhook" && mode !== "polling") {
    throw new UsageError("invalid_env", `TELEGRAM_MODE: expected webhook or polling, got "${mode}"`);
  }
  if (token && mode === "webhook" && !webhookSecret) {
    throw new UsageError("invalid_env", "TELEGRAM_WEBHOOK_SECRET: required in webhook mode");
  }
  const github =
    env.GITHUB_TOKEN && env.GITHUB_ORG
      ? {
          token: env.GITHUB_TOKEN,
          org: env.GITHUB_ORG,
          ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}),
          ref: env.RELCTL_GITHUB_REF ?? "main",
          deployWorkflow: env.RELCTL_DEPLOY_WORKFLOW ?? "production.yml",
          rollbackWorkflow: env.RELCTL_ROLLBACK_WORKFLOW ?? "rollback.yml",
        }
      : undefined;
  const alertChatIds = chatIds(env.ALERT_CHAT_ID, "ALERT_CHAT_ID");
  const oidc = parseOidcSettings(env);
  const releaseChatIds = env.RELEASE_CHAT_ID ? chatIds(env.RELEASE_CHAT_ID, "RELEASE_CHAT_ID") : alertChatIds;
  const dbPassword = (() => {
    try {
      return env.DATABASE_URL ? decodeURIComponent(new URL(env.DATABASE_URL).password) : undefined;
    } catch {
      return undefined;
    }
  })();
  return {
    ...(token
      ? {
          telegram: {
            token,
            mode,
            ...(env.TELEGRAM_API_ROOT ? { apiRoot: env.TELEGRAM_API_ROOT } : {}),
            ...(webhookSecret ? { webhookSecret } : {}),
            ...(env.TELEGRAM_WEBHOOK_URL ? { webhookUrl: env.TELEGRAM_WEBHOOK_URL } : {}),
          },
        }
      : {}),
    alertChatIds,
    releaseChatIds,
    ...(github ? { github } : {}),
    deployVia: parseDeployVia(env.RELCTL_DEPLOY_VIA, github !== undefined),
    ...(env.REDIS_URL ? { redisUrl: env.REDIS_URL } : {}),
    redisPrefix: env.REDIS_PREFIX ?? "relctl:",
    http: {
      host: env.RELCTL_HTTP_HOST ?? "0.0.0.0",
      port: int(env.PORT ?? env.RELCTL_HTTP_PORT, "PORT", 8080, 0, 65535),
      bodyLimit: int(env.RELCTL_BODY_LIMIT, "RELCTL_BODY_LIMIT", 64 * 1024, 1024, 10 * 1024 * 1024),
      allowIps: (env.RELCTL_ALLOWED_IPS ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
      trustProxy: env.RELCTL_TRUST_PROXY === "1",
      tokenCacheMs: int(env.RELCTL_TOKEN_CACHE_MS, "RELCTL_TOKEN_CACHE_MS", 5000, 0, 300_000),
      deadlineMs: int(env.RELCTL_HTTP_DEADLINE_MS, "RELCTL_HTTP_DEADLINE_MS", 1500, 100, 600_000),
      rateLimit: int(env.RELCTL_RATE_LIMIT, "RELCTL_RATE_LIMIT", 1200, 0, 1_000_000),
      authFailureLimit: int(env.RELCTL_AUTH_FAILURE_LIMIT, "RELCTL_AUTH_FAILURE_LIMIT", 20, 1, 100_000),
      ...(env.RELCTL_METRICS_TOKEN ? { metricsToken: metricsToken(env.RELCTL_METRICS_TOKEN) } : {}),
    },
    ...(oidc ? { oidc } : {}),
    database: { connectTimeoutSeconds: parseConnectTimeout(env.RELCTL_DB_CONNECT_TIMEOUT, 2) },
    workerId: env.RELCTL_WORKER_ID ?? `${env.HOSTNAME ?? "relctl"}-${process.pid}`,
    pollIntervalMs: int(env.RELCTL_POLL_MS, "RELCTL_POLL_MS", 250, 10, 60_000),
    runWatchMs: int(env.RELCTL_RUN_WATCH_MS, "RELCTL_RUN_WATCH_MS", 5000, 100, 3_600_000),
    retryBaseMs: int(env.RELCTL_RETRY_BASE_MS, "RELCTL_RETRY_BASE_MS", 1000, 10, 60_000),
    logLevel: logLevelOf(env.LOG_LEVEL),
    timeZone: parseTimeZone(env.RELCTL_TIME_ZONE),
    secrets: [
      token,
      webhookSecret,
      env.GITHUB_TOKEN,
      env.DB_PASS,
      env.PROD_PASSWORD,
      env.STAGE_PASSWORD,
      dbPassword,
    ].filter((s): s is string => Boolean(s)),
  };
}

function metricsToken(value: string): string {
  if (!/^[\x21-\x7e]{16,256}$/.test(value)) {
    throw new UsageError(
      "invalid_env",
      "RELCTL_METRICS_TOKEN: expected 16 to 256 printable characters without spaces",
    );
  }
  return value;
}
