// Checks action.yml and workflow files for what makes a workflow step injectable or mutable:
//
//   tsx packages/action/scripts/workflow-lint.ts packages/action/action.yml examples/workflows/*.yml
//
// - `${{ }}` inside a `run:` (the value becomes shell text: script injection); values reach
//   scripts through `env:` instead;
// - a `run:` step without its `shell:`;
// - a third-party action not pinned to a full commit SHA (a tag can be moved to other code).
// Exit code 1 when a file has a problem, with one line per problem.
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

/** Actions published from this repository, referenced by their release tag. */
export const FIRST_PARTY_ACTIONS: readonly string[] = ["relctl/release-action"];

export interface LintProblem {
  readonly file: string;
  /** Where: "jobs.stage.steps[2]" or "runs.steps[1]". */
  readonly at: string;
  readonly message: string;
}

type Step = Record<string, unknown>;

function stepsOf(doc: Record<string, unknown>): { at: string; step: Step }[] {
  const out: { at: string; step: Step }[] = [];
  const add = (prefix: string, steps: unknown) => {
    if (!Array.isArray(steps)) return;
    for (const [i, step] of steps.entries()) out.push({ at: `${prefix}[${i}]`, step: (step ?? {}) as Step });
  };
  add("runs.steps", (doc.runs as { steps?: unknown } | undefined)?.steps);
  const jobs = doc.jobs as Record<string, { steps?: unknown }> | undefined;
  for (const [name, job] of Object.entries(jobs ?? {})) add(`jobs.${name}.steps`, job?.steps);
  return out;
}

/** The problems of one action.yml or workflow file. */
export function lintWorkflowText(text: string, file: string): LintProblem[] {
  const problems: LintProblem[] = [];
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  for (const { at, step } of stepsOf(doc)) {
    const problem = (message: string) => problems.push({ file, at, message });
    if ("run" in step) {
      const run = String(step.run ?? "");
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub expression syntax, not a template
      if (/\$\{\{/.test(run)) problem('`${{ }}` inside run: pass the value through env: and use "$NAME"');
      if (!step.shell) problem("run: step without shell:");
    }
    if (typeof step.uses === "string") {
      const uses = step.uses;
      if (uses.startsWith("./") || uses.startsWith("docker://")) continue;
      const [name, ref] = uses.split("@");
      const repo = name!.split("/").slice(0, 2).join("/");
      if (!ref) problem(`${uses}: no ref`);
      else if (!FIRST_PARTY_ACTIONS.includes(repo) && !/^[0-9a-f]{40}$/.test(ref)) {
        problem(`${uses}: pin third-party actions to a full commit SHA`);
      }
    }
  }
  return problems;
}

const invoked = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invoked) {
  const problems = process.argv.slice(2).flatMap((f) => lintWorkflowText(readFileSync(f, "utf8"), f));
  for (const p of problems) console.error(`${p.file}: ${p.at}: ${p.message}`);
  process.exitCode = problems.length ? 1 : 0;
}
