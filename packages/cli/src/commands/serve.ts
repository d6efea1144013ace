import { BaseCommand } from "../base-command.js";

export default class Serve extends BaseCommand<typeof Serve> {
  static override summary =
    "Run the approvals service: the Telegram bot and the HTTP API (same as relctl-bot).";
  static override description =
    "Configured by environment variables: TELEGRAM_BOT_TOKEN, ALERT_CHAT_ID, RELEASE_CHAT_ID, DATABASE_URL or DB_*, GITHUB_TOKEN, GITHUB_ORG, REDIS_URL, PORT, TELEGRAM_WEBHOOK_SECRET (webhook mode), RELCTL_DEPLOY_VIA. Stops on SIGINT/SIGTERM.";
  static override examples = [
    "TELEGRAM_BOT_TOKEN=… <%= config.bin %> serve",
    "TELEGRAM_BOT_TOKEN=… DATABASE_URL=postgres://relctl@db/relctl GITHUB_TOKEN=… GITHUB_ORG=acme <%= config.bin %> serve",
  ];
  static override enableJsonFlag = false;

  async run() {
    const { flags } = await this.parse(Serve);
    const env = { ...process.env, ...(flags["state-dir"] ? { RELCTL_STATE_DIR: flags["state-dir"] } : {}) };
    const { runApprovalsServiceFromEnv } = await import("@relctl/bot");
    process.exitCode = await runApprovalsServiceFromEnv(env, process.cwd());
  }
}
