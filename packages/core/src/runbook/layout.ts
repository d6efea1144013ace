import { posix } from "node:path";

/**
 * Where things live under an environment's working directory on each host:
 *   <path>/repo.git            bare mirror of the service's repository
 *   <path>/releases/<tag>/     one checkout per release (the last `keep` are kept)
 *   <path>/current -> releases/<tag>   switched atomically
 *   <path>/.relctl/step.pid    the process group of the step running now (see STEP_SUPERVISOR)
 *   <path>/.relctl/lock/       the host lock of the run working here: token, holder, heartbeat
 */
export interface Layout {
  readonly root: string;
  readonly repo: string;
  readonly releases: string;
  readonly current: string;
  readonly stepPid: string;
  /** The folder host locks live in. */
  readonly state: string;
  release(tag: string): string;
}

export function layoutOf(root: string): Layout {
  return {
    root,
    repo: posix.join(root, "repo.git"),
    releases: posix.join(root, "releases"),
    current: posix.join(root, "current"),
    stepPid: posix.join(root, ".relctl", "step.pid"),
    state: posix.join(root, ".relctl"),
    release: (tag) => posix.join(root, "releases", tag),
  };
}
