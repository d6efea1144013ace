import Abort from "./commands/abort.js";
import Ack from "./commands/ack.js";
import Approve from "./commands/approve.js";
import AuditExport from "./commands/audit/export.js";
import AuditVerify from "./commands/audit/verify.js";
import Audit from "./commands/audit.js";
import DbMigrate from "./commands/db/migrate.js";
import DbServe from "./commands/db/serve.js";
import Deploy from "./commands/deploy.js";
import Doctor from "./commands/doctor.js";
import HostsTrust from "./commands/hosts/trust.js";
import Init from "./commands/init.js";
import LockAcquire from "./commands/lock/acquire.js";
import LockRelease from "./commands/lock/release.js";
import LockStatus from "./commands/lock/status.js";
import Login from "./commands/login.js";
import Logout from "./commands/logout.js";
import Logs from "./commands/logs.js";
import MembersAdd from "./commands/members/add.js";
import MembersList from "./commands/members/list.js";
import MembersRemove from "./commands/members/remove.js";
import OidcAllow from "./commands/oidc/allow.js";
import OidcList from "./commands/oidc/list.js";
import OidcRevoke from "./commands/oidc/revoke.js";
import Rehearse from "./commands/rehearse.js";
import Reject from "./commands/reject.js";
import ReleaseCreate from "./commands/release/create.js";
import ReleaseUpdate from "./commands/release/update.js";
import Release from "./commands/release.js";
import Releases from "./commands/releases.js";
import Report from "./commands/report.js";
import Rollback from "./commands/rollback.js";
import Runs from "./commands/runs.js";
import Serve from "./commands/serve.js";
import Status from "./commands/status.js";
import TokensCreate from "./commands/tokens/create.js";
import TokensList from "./commands/tokens/list.js";
import TokensRevoke from "./commands/tokens/revoke.js";
import Versions from "./commands/versions.js";

/**
 * Every relctl command, by id: what surface.json is built from. oclif itself finds the commands by
 * their files (dist/commands/<topic>/<name>.js, the pattern strategy) and lists them from
 * oclif.manifest.json, so a run imports only the command it runs; a test keeps the two in step.
 */
export const COMMANDS = {
  abort: Abort,
  ack: Ack,
  approve: Approve,
  audit: Audit,
  "audit:export": AuditExport,
  "audit:verify": AuditVerify,
  "db:migrate": DbMigrate,
  "db:serve": DbServe,
  deploy: Deploy,
  doctor: Doctor,
  "hosts:trust": HostsTrust,
  init: Init,
  "lock:acquire": LockAcquire,
  "lock:release": LockRelease,
  "lock:status": LockStatus,
  login: Login,
  logout: Logout,
  logs: Logs,
  rehearse: Rehearse,
  release: Release,
  rollback: Rollback,
  runs: Runs,
  versions: Versions,
  reject: Reject,
  "release:create": ReleaseCreate,
  "release:update": ReleaseUpdate,
  releases: Releases,
  report: Report,
  status: Status,
  "members:add": MembersAdd,
  "members:list": MembersList,
  "members:remove": MembersRemove,
  "oidc:allow": OidcAllow,
  "oidc:list": OidcList,
  "oidc:revoke": OidcRevoke,
  serve: Serve,
  "tokens:create": TokensCreate,
  "tokens:list": TokensList,
  "tokens:revoke": TokensRevoke,
};
