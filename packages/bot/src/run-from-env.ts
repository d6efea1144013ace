import { toRelctlError } from "@relctl/core";
import { startApprovalsService } from "./approvals-service.js";
import { createLogger } from "./logger.js";
import { loadBotSettings } from "./settings.js";
import { startServeTelemetry } from "./telemetry.js";

/**
 * Runs the approvals service until SIGINT/SIGTERM. Entry files (the bin, `relctl serve`) pass
 * process.env here; nothing below reads the environment itself.
 */
export async function runApprovalsServiceFromEnv(env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  let settings: ReturnType<typeof loadBotSettings>;
  try {
    settings = loadBotSettings(env);
  } catch (err) {
    process.stderr.write(`relctl-bot: ${toRelctlError(err).message}\n`);
    return 2;
  }
  const logger = createLogger({
    secrets: settings.secrets,
    level: settings.logLevel,
    base: { service: "relctl-bot" },
  });
  const stopTelemetry = await startServeTelemetry(env);
  let service: Awaited<ReturnType<typeof startApprovalsService>>;
  try {
    service = await startApprovalsService({ settings, env, cwd, logger });
  } catch (err) {
    const error = toRelctlError(err);
    logger.error("could not start", { code: error.code, message: error.message });
    await stopTelemetry();
    return error.exitCode;
  }
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  logger.info("stopping");
  await service.close();
  await stopTelemetry();
  return 0;
}
