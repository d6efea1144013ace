import { BaseCommand } from "../base-command.js";

export default class Serve extends BaseCommand<typeof Serve> {
  /** The service registers its own SDK (service name relctl-serve, its spans, its version). */
  protected override readonly ownTelemetry = true;
  static override summary =
    "Run the approvals service: the Telegram bot and the HTTP API (same as relctl-bot).";
  static override description =
    'Configured by environment variables: TELEGRAM_BOT_TOKEN, ALERT_CHAT_ID, RELEASE_CHAT_ID, DATABASE_URL or DB_*, GITHUB_TOKEN, GITHUB_ORG, REDIS_URL, PORT, TELEGRAM_WEBHOOK_SECRET (webhook mode), RELCTL_DEPLOY_VIA. Once it is up it prints its URL on stdout (with --json one line: {"status":"up","url":…}); its logs are JSON lines on stderr. Stops on SIGINT/SIGTERM.';
  static override examples = [
    "TELEGRAM_BOT_TOKEN=… <%= config.bin %> serve",
    "TELEGRAM_BOT_TOKEN=… DATABASE_URL=postgres://relctl@db/relctl GITHUB_TOKEN=… GITHUB_ORG=acme <%= config.bin %> serve --json",
  ];

  async run() {
    const { flags } = await this.parse(Serve);
    const env = { ...process.env, ...(flags["state-dir"] ? { RELCTL_STATE_DIR: flags["state-dir"] } : {}) };
    const { createLogger, loadBotSettings, startApprovalsService, startServeTelemetry } = await import(
      "@relctl/bot"
    );
    const settings = loadBotSettings(env);
    const stopTelemetry = await startServeTelemetry(env);
    const logger = createLogger({
      secrets: settings.secrets,
      level: settings.logLevel,
      base: { service: "relctl-bot" },
    });
    const service = await startApprovalsService({ settings, env, cwd: process.cwd(), logger });
    // One line, as soon as it answers: a supervisor or a test reads it to know the service is up.
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify({ status: "up", url: service.url })}\n`);
    else this.log(`relctl approvals service up at ${service.url}`);
    await new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    logger.info("stopping");
    await service.close();
    await stopTelemetry();
  }
}
