import { type Executor, type HostSession, type HostTarget, isLocalTarget } from "../../ports/executor.js";
import { createLocalExecutor } from "./local-executor.js";
import { createSshExecutor, type SshExecutorOptions } from "./ssh-executor.js";

export type {
  Executor,
  HostSession,
  HostTarget,
  RunOptions,
  Step,
  StepResult,
} from "../../ports/executor.js";
export { createLocalExecutor, runLocalStep } from "./local-executor.js";
export {
  buildRemoteCommand,
  createLineSplitter,
  createOutputCollector,
  type LineSplitter,
  type OutputCollector,
  quoteArg,
  quoteArgv,
  redact,
} from "./quote.js";
export {
  createSshExecutor,
  fingerprintOf,
  type ScannedHostKey,
  type SshExecutorOptions,
  scanHostKey,
} from "./ssh-executor.js";

/** Runs each target's steps where isLocalTarget says: here, or over SSH. */
export function createExecutor(options: SshExecutorOptions = {}): Executor {
  const local = createLocalExecutor();
  const ssh = createSshExecutor(options);
  return {
    get handshakes() {
      return local.handshakes + ssh.handshakes;
    },
    open(target: HostTarget): Promise<HostSession> {
      return isLocalTarget(target) ? local.open(target) : ssh.open(target);
    },
    prepare(targets) {
      ssh.prepare?.(targets.filter((t) => !isLocalTarget(t)));
    },
  };
}
