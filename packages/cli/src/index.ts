import Approve from "./commands/approve.js";
import Audit from "./commands/audit.js";
import DbMigrate from "./commands/db-migrate.js";
import Demo from "./commands/demo.js";
import Reject from "./commands/reject.js";
import ReleaseCreate from "./commands/release-create.js";
import ReleaseUpdate from "./commands/release-update.js";
import Releases from "./commands/releases.js";
import Status from "./commands/status.js";

/** Every relctl command, by id (oclif's explicit command strategy). */
export const COMMANDS = {
  approve: Approve,
  audit: Audit,
  "db:migrate": DbMigrate,
  demo: Demo,
  reject: Reject,
  "release:create": ReleaseCreate,
  "release:update": ReleaseUpdate,
  releases: Releases,
  status: Status,
};
