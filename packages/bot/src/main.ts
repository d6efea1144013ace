// The approvals service's entry: `relctl-bot` (bin/relctl-bot.js) and `relctl serve` run this.
import { runApprovalsServiceFromEnv } from "./run-from-env.js";

process.exitCode = await runApprovalsServiceFromEnv(process.env, process.cwd());
