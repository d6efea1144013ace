import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";

/**
 * Runs an action the way the GitHub runner does, as far as relctl's action.yml needs, with fresh
 * GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY / GITHUB_STATE files per step and variables
 * from GITHUB_ENV passed to later steps:
 * - a JavaScript action (`using: node20 | node24`): `main` started with node, each input given as
 *   INPUT_<NAME> (upper case, `-` kept, spaces → `_`), its outputs from GITHUB_OUTPUT; then `post`
 *   when `post-if` holds (`success()` by default, `always()`, `failure()`), with the same inputs and
 *   what main saved to GITHUB_STATE (`core.saveState`) as STATE_<name>;
 * - a composite action: inputs with their defaults, `${{ }}` evaluated only in `env:` and
 *   `outputs:` values (never in `run:`), each `run:` step written to a file and started with its
 *   `shell:`, and the action's outputs read from the steps' outputs.
 * The steps run with this process's node (Node 20 here; the hosted runner's node24 is Node 24).
 */

interface ActionStep {
  readonly id?: string;
  readonly name?: string;
  readonly shell?: string;
  readonly run?: string;
  readonly uses?: string;
  readonly env?: Record<string, string>;
  readonly if?: string;
}

interface ActionFile {
  readonly inputs?: Record<string, { default?: string; required?: boolean }>;
  readonly outputs?: Record<string, { value?: string }>;
  readonly runs: {
    readonly using: string;
    readonly steps?: readonly ActionStep[];
    readonly main?: string;
    readonly post?: string;
    readonly "post-if"?: string;
  };
}

export interface WorkflowRun {
  /** The event payload (written to GITHUB_EVENT_PATH). */
  readonly event: Record<string, unknown>;
  readonly eventName: string;
  readonly ref: string;
  readonly repository: string;
  readonly runId: string;
  readonly actor: string;
  readonly token: string;
  readonly apiUrl: string;
  readonly serverUrl?: string;
  readonly workspace: string;
}

export interface ActionRunOptions {
  readonly actionDir: string;
  /** The step's `with:`. */
  readonly with: Readonly<Record<string, string>>;
  /** The job's `env:` (and anything else the job environment holds). */
  readonly env?: Readonly<Record<string, string>>;
  readonly workflow: WorkflowRun;
  /** RUNNER_TEMP; a fresh folder per job. */
  readonly runnerTemp: string;
  /**
   * Called when a JavaScript action's main step has started, with its process and its
   * GITHUB_STATE file: a test can end it (a cancelled job) and the run goes on to `post`.
   */
  readonly onMainStarted?: (main: { readonly child: ChildProcess; readonly stateFile: string }) => void;
}

export interface StepRun {
  readonly name: string;
  readonly code: number | null;
  readonly outputs: Record<string, string>;
}

export interface ActionRunResult {
  /** The exit code of the step that failed, else 0. */
  readonly code: number;
  readonly steps: readonly StepRun[];
  readonly outputs: Readonly<Record<string, string>>;
  /** stdout and stderr of every step, as the job log shows them. */
  readonly log: string;
  /** What the steps appended to the job summary. */
  readonly summary: string;
  /** Everything the steps wrote to their GITHUB_ENV files. */
  readonly envFile: string;
  /** Everything the steps wrote to their GITHUB_OUTPUT files. */
  readonly outputFile: string;
  /** What a JavaScript action's main step saved for its post step (GITHUB_STATE). */
  readonly state: Readonly<Record<string, string>>;
}

/** Reads a GITHUB_OUTPUT / GITHUB_ENV file: `name=value` lines and `name<<DELIM … DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line) continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      out[name!] = value.join("\n");
      continue;
    }
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

type Contexts = {
  inputs: Record<string, string>;
  github: Record<string, string>;
  steps: Record<string, { outputs: Record<string, string> }>;
};

/** Evaluates the `${{ }}` expressions relctl's action.yml uses; any other expression is an error. */
export function evaluate(template: string, ctx: Contexts): string {
  return template.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_m, expr: string) => {
    let m = /^inputs\.([A-Za-z0-9_-]+)$/.exec(expr);
    if (m) return ctx.inputs[m[1]!] ?? "";
    m = /^github\.([a-z_]+)$/.exec(expr);
    if (m && m[1]! in ctx.github) return ctx.github[m[1]!]!;
    m = /^steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)$/.exec(expr);
    if (m) return ctx.steps[m[1]!]?.outputs[m[2]!] ?? "";
    throw new Error(`composite runner: unsupported expression \${{ ${expr} }}`);
  });
}

const SHELLS: Readonly<Record<string, (file: string) => [string, string[]]>> = {
  bash: (f) => ["bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", f]],
  sh: (f) => ["sh", ["-e", f]],
};

function runProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  onStarted?: (child: ChildProcess) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    onStarted?.(child);
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, output }));
  });
}

/** The fresh file-command files of one step. */
function stepFiles(commandsDir: string) {
  const id = randomUUID();
  const files = {
    GITHUB_OUTPUT: join(commandsDir, `set_output_${id}`),
    GITHUB_ENV: join(commandsDir, `set_env_${id}`),
    GITHUB_STEP_SUMMARY: join(commandsDir, `step_summary_${id}`),
    GITHUB_PATH: join(commandsDir, `add_path_${id}`),
    GITHUB_STATE: join(commandsDir, `save_state_${id}`),
  };
  for (const f of Object.values(files)) writeFileSync(f, "");
  return { id, files };
}

/** Whether a JavaScript action's post step runs, after a main step that exited with `mainCode`. */
function postRuns(condition: string | undefined, mainCode: number): boolean {
  const c = (condition ?? "success()").replace(/^\$\{\{\s*(.*?)\s*\}\}$/, "$1").trim();
  if (c === "always()") return true;
  if (c === "success()") return mainCode === 0;
  if (c === "failure()") return mainCode !== 0;
  throw new Error(`action runner: unsupported post-if ${condition}`);
}

/** Runs relctl's action.yml as the GitHub runner does (see the top of this file). */
export async function runActionStep(options: ActionRunOptions): Promise<ActionRunResult> {
  const action = parse(readFileSync(join(options.actionDir, "action.yml"), "utf8")) as ActionFile;
  const using = action.runs.using;
  if (using !== "composite" && using !== "node20" && using !== "node24")
    throw new Error(`action runner: runs.using ${using} is not supported`);
  const w = options.workflow;
  const temp = options.runnerTemp;
  const commandsDir = join(temp, "_runner_file_commands");
  mkdirSync(commandsDir, { recursive: true });
  const eventPath = join(temp, "_github_workflow", "event.json");
  mkdirSync(join(temp, "_github_workflow"), { recursive: true });
  writeFileSync(eventPath, JSON.stringify(w.event));

  const ctx: Contexts = {
    inputs: {},
    github: { token: w.token, action_path: options.actionDir, workspace: w.workspace, ref: w.ref },
    steps: {},
  };
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const given = options.with[name];
    ctx.inputs[name] = given ?? (spec.default === undefined ? "" : evaluate(String(spec.default), ctx));
  }
  for (const name of Object.keys(options.with)) {
    if (!(name in (action.inputs ?? {}))) throw new Error(`composite runner: unexpected input ${name}`);
  }

  const jobEnv: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? "/root",
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_WORKSPACE: w.workspace,
    GITHUB_EVENT_PATH: eventPath,
    GITHUB_EVENT_NAME: w.eventName,
    GITHUB_REF: w.ref,
    GITHUB_REPOSITORY: w.repository,
    GITHUB_RUN_ID: w.runId,
    GITHUB_RUN_ATTEMPT: "1",
    GITHUB_ACTOR: w.actor,
    GITHUB_API_URL: w.apiUrl,
    GITHUB_SERVER_URL: w.serverUrl ?? "https://github.com",
    RUNNER_TEMP: temp,
    ...options.env,
  };
  const steps: StepRun[] = [];
  let log = "";
  let summary = "";
  let envFile = "";
  let outputFile = "";
  let code = 0;

  if (using !== "composite") {
    const { main, post } = action.runs;
    if (!main) throw new Error("action runner: runs.main is missing");
    // The runner's names: INPUT_ + the input's name in upper case with spaces as `_` (`-` stays).
    const inputEnv = Object.fromEntries(
      Object.entries(ctx.inputs).map(([name, value]) => [
        `INPUT_${name.replace(/ /g, "_").toUpperCase()}`,
        value,
      ]),
    );
    const state: Record<string, string> = {};
    const runScript = async (name: string, script: string, stateEnv: Record<string, string>) => {
      const { files } = stepFiles(commandsDir);
      const env = { ...jobEnv, ...inputEnv, ...stateEnv, ...files, GITHUB_ACTION_PATH: options.actionDir };
      const onStarted =
        name === "main" && options.onMainStarted
          ? (child: ChildProcess) => options.onMainStarted!({ child, stateFile: files.GITHUB_STATE })
          : undefined;
      const result = await runProcess(
        process.execPath,
        [join(options.actionDir, script)],
        env,
        w.workspace,
        onStarted,
      );
      log += result.output;
      const outputText = readFileSync(files.GITHUB_OUTPUT, "utf8");
      outputFile += outputText;
      const envText = readFileSync(files.GITHUB_ENV, "utf8");
      envFile += envText;
      Object.assign(jobEnv, parseFileCommands(envText));
      summary += readFileSync(files.GITHUB_STEP_SUMMARY, "utf8");
      Object.assign(state, parseFileCommands(readFileSync(files.GITHUB_STATE, "utf8")));
      // A step ended by a signal fails like one that exited non-zero.
      const stepCode = result.code ?? 1;
      const stepOutputs = parseFileCommands(outputText);
      steps.push({ name, code: result.signal ? null : result.code, outputs: stepOutputs });
      return { code: stepCode, outputs: stepOutputs };
    };
    const mainRun = await runScript("main", main, {});
    code = mainRun.code;
    if (post && postRuns(action.runs["post-if"], mainRun.code)) {
      const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
      const postRun = await runScript("post", post, stateEnv);
      if (code === 0) code = postRun.code;
    }
    const outputs: Record<string, string> = {};
    for (const name of Object.keys(action.outputs ?? {})) outputs[name] = mainRun.outputs[name] ?? "";
    return { code, steps, outputs, log, summary, envFile, outputFile, state };
  }

  for (const [index, step] of (action.runs.steps ?? []).entries()) {
    if (step.uses) throw new Error("composite runner: `uses:` steps are not supported");
    if (step.if) throw new Error("composite runner: `if:` is not supported");
    if (!step.run || !step.shell) throw new Error(`composite runner: step ${index} needs run and shell`);
    if (step.run.includes("${{"))
      throw new Error(`composite runner: step ${index} has an expression in run:`);
    const shell = SHELLS[step.shell];
    if (!shell) throw new Error(`composite runner: shell ${step.shell} is not supported`);
    const { id, files } = stepFiles(commandsDir);
    const script = join(temp, `${id}.sh`);
    writeFileSync(script, step.run);
    const stepEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = evaluate(String(v), ctx);
    const env = { ...jobEnv, ...stepEnv, ...files, GITHUB_ACTION_PATH: options.actionDir };
    const [command, args] = shell(script);
    const result = await runProcess(command, args, env, w.workspace);
    log += result.output;
    const stepOutputs = parseFileCommands(readFileSync(files.GITHUB_OUTPUT, "utf8"));
    outputFile += readFileSync(files.GITHUB_OUTPUT, "utf8");
    const envText = readFileSync(files.GITHUB_ENV, "utf8");
    envFile += envText;
    Object.assign(jobEnv, parseFileCommands(envText));
    summary += readFileSync(files.GITHUB_STEP_SUMMARY, "utf8");
    if (step.id) ctx.steps[step.id] = { outputs: stepOutputs };
    steps.push({ name: step.name ?? step.id ?? String(index), code: result.code, outputs: stepOutputs });
    if (result.code !== 0) {
      code = result.code ?? 1;
      break;
    }
  }
  const outputs: Record<string, string> = {};
  for (const [name, spec] of Object.entries(action.outputs ?? {})) {
    outputs[name] = spec.value ? evaluate(spec.value, ctx) : "";
  }
  return { code, steps, outputs, log, summary, envFile, outputFile, state: {} };
}
