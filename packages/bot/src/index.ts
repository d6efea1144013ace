export type { AppDeps } from "./app-deps.js";
export * from "./approvals-service.js";
export type { Deployer, RollbackInput } from "./deploy/deployer.js";
export { createGithubDeployer, createUnconfiguredDeployer } from "./deploy/github-deployer.js";
export { createLogger, type Logger, redactSecrets } from "./logger.js";
export { runApprovalsServiceFromEnv } from "./run-from-env.js";
export * from "./settings.js";
export { startServeTelemetry } from "./telemetry.js";
