// The public surface of @relctl/core: what the CLI, the HTTP API and bot, the action, the test kit
// and the benchmarks use. Use-cases first; then the domain, config, runbook plans, adapters and errors.

export {
  createExecutor,
  createLocalExecutor,
  type Executor,
  quoteArgv,
  scanHostKey,
} from "./adapters/exec/index.js";
export {
  createGithubWorkflowDispatcher,
  type GithubOptions,
  githubError,
  type WorkflowDispatch,
  type WorkflowDispatcher,
  type WorkflowRun,
} from "./adapters/github/workflow-dispatcher.js";
export {
  MemoryReleaseStore,
  MemoryRunStore,
  type StatusChange,
} from "./adapters/memory/memory-stores.js";
export {
  openContext,
  type RelctlContext,
  resolveConfigFile,
  resolveTarget,
} from "./adapters/open-context.js";
export {
  type DedupeCache,
  recordAlerts,
} from "./adapters/postgres/alert-recorder.js";
export {
  type AuditAnchor,
  type AuditChainBreak,
  type AuditChainReport,
  exportAuditEvents,
  linkPendingAuditEvents,
  onAuditEventQueued,
  parseAuditAnchor,
  verifyAuditChain,
} from "./adapters/postgres/audit-chain.js";
export {
  type Database,
  type DatabaseTarget,
  databaseOutageOf,
  describeDatabaseTarget,
  openDatabase,
  parseConnectTimeout,
  serveEmbeddedDatabase,
  toDatabaseUnavailable,
  validateDatabaseUrl,
} from "./adapters/postgres/database.js";
export {
  type DeployOutcome,
  type DeployRequest,
  DeployRequestStore,
  rollbackUnderWay,
} from "./adapters/postgres/deploy-request-store.js";
export { parseEmbeddedIdle, stopEmbeddedServer } from "./adapters/postgres/embedded.js";
export {
  MemberStore,
  memberJson,
} from "./adapters/postgres/member-store.js";
export {
  DEPLOY_REQUEST_KINDS,
  type DurationHistogram,
  LEAD_TIME_BUCKETS,
  type MetricsSnapshot,
  OPEN_DEPLOY_REQUEST_STATES,
  RUN_DURATION_BUCKETS,
  type RunCount,
  readMetricsSnapshot,
} from "./adapters/postgres/metrics-reads.js";
export {
  LATEST_SCHEMA_VERSION,
  pendingStoreMigrations,
  readStoreSchemaVersion,
  runStoreMigrations,
} from "./adapters/postgres/migrations.js";
export {
  OidcStore,
  oidcPolicyJson,
} from "./adapters/postgres/oidc-store.js";
export {
  type OutboxItem,
  OutboxStore,
} from "./adapters/postgres/outbox-store.js";
export { readProductionHistory } from "./adapters/postgres/production-history-reads.js";
export {
  ReleaseStore,
  validateReleaseId,
} from "./adapters/postgres/release-store.js";
export {
  type EffectivenessReport,
  REPORT_INTERVALS,
  type ReportFigures,
  type ReportInterval,
} from "./adapters/postgres/report-reads.js";
export {
  grantRuntimeRole,
  previewRuntimeGrants,
  RUNTIME_TABLE_PRIVILEGES,
  relctlTables,
  runtimeGrantStatements,
  validateRoleName,
} from "./adapters/postgres/roles.js";
export { RunStore } from "./adapters/postgres/run-store.js";
export {
  type ApiToken,
  TokenStore,
} from "./adapters/postgres/token-store.js";
export {
  formatDuration,
  parseDuration,
} from "./config/duration.js";
export {
  defaultConfig,
  type EnvironmentHost,
  formatPath,
  parseConfig,
  type ServiceConfig,
} from "./config/load.js";
export { buildConfigJsonSchema } from "./config/schema.js";
export {
  alertDedupeKey,
  parseAlertmanagerWebhook,
} from "./domain/alertmanager.js";
export {
  buildTokenScopes,
  DEFAULT_TOKEN_LIFETIME,
  generateApiToken,
  hashApiToken,
  looksLikeApiToken,
  parseTokenLifetime,
  tokenAllowsService,
  tokenMember,
  tokenServices,
} from "./domain/api-token.js";
export {
  type ApprovalPolicy,
  type ApprovalRecord,
  DEFAULT_APPROVAL_POLICY,
  planApproval,
  type RoleProgress,
  summarizeApprovals,
} from "./domain/approvals.js";
export {
  AUDIT_CHAIN_GENESIS,
  AUDIT_EXPORT_COLUMNS,
  type AuditExportFormat,
  type AuditRecord,
  auditCsvHeader,
  auditCsvLine,
  auditJsonLine,
  auditLinkHash,
} from "./domain/audit-chain.js";
export {
  admitDeploy,
  approvalPolicyFor,
  type FreezeOverride,
  primaryGate,
} from "./domain/gates.js";
export {
  type Locale,
  type Member,
  memberIdentities,
  validateMember,
  validateTelegramId,
} from "./domain/member.js";
export {
  isValidTag,
  validateService,
  validateTag,
} from "./domain/names.js";
export {
  authorizeWorkflow,
  DEFAULT_OIDC_AUDIENCE,
  GITHUB_OIDC_ISSUER,
  type OidcPolicy,
  validateOidcPolicy,
  type WorkflowClaims,
  workflowCallerName,
  workflowClaimsOf,
  workflowMatches,
  workflowServices,
} from "./domain/oidc.js";
export {
  authorizeMember,
  type MemberAction,
} from "./domain/permissions.js";
export {
  planProductionHistory,
  type RestorableVersion,
} from "./domain/production-history.js";
export type {
  Actor,
  ApprovalRow,
  AuditEvent,
  Channel,
  Release,
} from "./domain/release.js";
export {
  DEFAULT_RETRY_POLICY,
  type DeliveryFailure,
  planRetry,
} from "./domain/retry-plan.js";
export {
  type Deployment,
  describeLock,
  lockAlive,
  type Run,
  type RunStatus,
  type StepRecord,
} from "./domain/run.js";
export {
  groupOf,
  isReleaseStatus,
  RELEASE_STATUSES,
  type ReleaseStatus,
  statusesIn,
} from "./domain/statuses.js";
export { MAX_REASON_LENGTH, printable, validateReason } from "./domain/text.js";
export {
  assertTransition,
  canTransition,
  MOVERS,
  moversOf,
  TERMINAL_STATUSES,
  TRANSITIONS,
} from "./domain/transitions.js";
export {
  planVersions,
  rehearsalTargetOf,
} from "./domain/versions.js";
export {
  EXIT_CODES,
  ExternalError,
  isRelctlError,
  RelctlError,
  StateError,
  toRelctlError,
  UsageError,
} from "./errors.js";
export {
  escapeMarkdown,
  markdownCodeBlock,
  markdownLink,
  markdownTable,
  trusted,
} from "./render/markdown.js";
export {
  approvalsJson,
  releaseJson,
} from "./render/release-json.js";
export { humanSeconds, REPORT_PAGE_CSP, renderReportHtml } from "./render/report-html.js";
export { type ReportJson, reportFiguresJson, reportJson } from "./render/report-json.js";
export {
  type RunReport,
  type RunReportPart,
  type RunReportStep,
  renderRunReportMarkdown,
} from "./render/run-report.js";
export { bodyNamesVersion } from "./runbook/health.js";
export { Interruption } from "./runbook/interruption.js";
export {
  compensationItems,
  forwardItems,
  type PlanItem,
  type PreviousVersion,
  planDeploy,
  planItemJson,
  requireEnvironment,
} from "./runbook/plan.js";
export {
  type RunEvent,
  Runner,
  type RunReporter,
} from "./runbook/runner.js";
export { parseCurrentLink } from "./runbook/steps.js";
export {
  activeTraceRef,
  enableTracing,
  endSpan,
  inSpan,
  inUseCaseSpan,
  newTraceRef,
  parseTraceId,
  parseTraceparent,
  refOf,
  SpanKind,
  type SpanOptions,
  startOperationSpan,
  type TraceRef,
  traceparentOf,
  tracingEnabled,
} from "./telemetry.js";
export { abortRun } from "./use-cases/abort.js";
export { exportAudit, parseAuditTime, verifyAudit } from "./use-cases/audit.js";
export {
  checkHosts,
  type HostCheck,
} from "./use-cases/check-hosts.js";
export {
  type DecidePorts,
  decideRelease,
} from "./use-cases/decide.js";
export {
  planDeployRun,
  runDeploy,
} from "./use-cases/deploy.js";
export { acknowledgeHold } from "./use-cases/holds.js";
export {
  acquireLockByHand,
  lockJson,
  releaseLockByHand,
} from "./use-cases/locks.js";
export { runRehearsal } from "./use-cases/rehearse.js";
export {
  releaseToStage,
  stageEnvironmentOf,
} from "./use-cases/release-to-stage.js";
export {
  loadReleaseView,
  parseStatus,
  type ReleaseView,
  updateReleaseStatus,
  workflowReportFields,
} from "./use-cases/releases.js";
export { reportEffectiveness } from "./use-cases/report.js";
export {
  type RollbackRequestPorts,
  requestMemberRollback,
} from "./use-cases/request-rollback.js";
export {
  planRollback,
  runRollback,
} from "./use-cases/rollback.js";
export {
  type ReleasePage,
  readReleasePage,
  readRunHistory,
  readRunLog,
} from "./use-cases/run-history.js";
export {
  DEFAULT_LOCK_DEAD_AFTER_MS,
  type RunbookDeps,
  type RunbookRuns,
  type RunOutcome,
} from "./use-cases/run-scope.js";
export { nextAfterInterrupted, type RunState, readRunState } from "./use-cases/run-state.js";
export { listVersions } from "./use-cases/versions.js";
