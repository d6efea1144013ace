import { tmpdir } from "node:os";

type Env = Readonly<Record<string, string | undefined>>;

/** What relctl takes from the event that started the workflow; nothing else of it is read. */
export interface WorkflowEvent {
  /** `refs/tags/v1.2.0` on a tag push. */
  readonly ref?: string;
  /** workflow_dispatch inputs (the approvals service sends `release_id` and `tag`). */
  readonly inputs: Readonly<Record<string, string>>;
}

/** The workflow run as the runner describes it in its environment. */
export interface WorkflowContext {
  readonly repository?: { readonly owner: string; readonly repo: string };
  readonly serverUrl: string;
  readonly apiUrl: string;
  readonly runId?: string;
  /** Link to this workflow run. */
  readonly runUrl?: string;
  readonly runAttempt: string;
  /** Who started the run (a GitHub login). */
  readonly actor?: string;
  readonly ref?: string;
  readonly workspace: string;
  /** The runner's temporary folder, emptied after every job. */
  readonly tempDir: string;
  readonly event: WorkflowEvent;
}

/** Picks `ref` and string `inputs` out of an event payload; anything else in it is ignored. */
export function parseWorkflowEvent(json: string | undefined): WorkflowEvent {
  if (!json) return { inputs: {} };
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch {
    return { inputs: {} };
  }
  const p = (payload && typeof payload === "object" ? payload : {}) as Record<string, unknown>;
  const inputs: Record<string, string> = {};
  if (p.inputs && typeof p.inputs === "object") {
    for (const [k, v] of Object.entries(p.inputs as Record<string, unknown>)) {
      if (typeof v === "string" || typeof v === "number") inputs[k] = String(v);
    }
  }
  return { ...(typeof p.ref === "string" ? { ref: p.ref } : {}), inputs };
}

/** Reads the runner's variables (GITHUB_*, RUNNER_TEMP) and the event payload text. Pure. */
export function readWorkflowContext(env: Env, eventJson: string | undefined, cwd: string): WorkflowContext {
  const serverUrl = (env.GITHUB_SERVER_URL || "https://github.com").replace(/\/+$/, "");
  const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
  const repository =
    owner && repo && /^[A-Za-z0-9_.-]+$/.test(owner) && /^[A-Za-z0-9_.-]+$/.test(repo)
      ? { owner, repo }
      : undefined;
  const runId = env.GITHUB_RUN_ID && /^\d+$/.test(env.GITHUB_RUN_ID) ? env.GITHUB_RUN_ID : undefined;
  const actor =
    env.GITHUB_ACTOR && /^[A-Za-z0-9][A-Za-z0-9-]{0,38}(\[bot\])?$/.test(env.GITHUB_ACTOR)
      ? env.GITHUB_ACTOR
      : undefined;
  return {
    ...(repository ? { repository } : {}),
    serverUrl,
    apiUrl: (env.GITHUB_API_URL || "https://api.github.com").replace(/\/+$/, ""),
    ...(runId ? { runId } : {}),
    ...(runId && repository
      ? { runUrl: `${serverUrl}/${repository.owner}/${repository.repo}/actions/runs/${runId}` }
      : {}),
    runAttempt: env.GITHUB_RUN_ATTEMPT && /^\d+$/.test(env.GITHUB_RUN_ATTEMPT) ? env.GITHUB_RUN_ATTEMPT : "1",
    ...(actor ? { actor } : {}),
    ...(env.GITHUB_REF ? { ref: env.GITHUB_REF } : {}),
    workspace: env.GITHUB_WORKSPACE || cwd,
    tempDir: env.RUNNER_TEMP || tmpdir(),
    event: parseWorkflowEvent(eventJson),
  };
}
