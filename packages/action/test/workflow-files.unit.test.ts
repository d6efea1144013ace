import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { renderActionTables, writeActionTables } from "../scripts/readme-tables.js";
import { lintWorkflowText } from "../scripts/workflow-lint.js";

const ACTION_DIR = join(import.meta.dirname, "..");
const WORKFLOWS_DIR = join(ACTION_DIR, "..", "..", "examples", "workflows");
const actionYml = readFileSync(join(ACTION_DIR, "action.yml"), "utf8");
const workflows = readdirSync(WORKFLOWS_DIR)
  .filter((f) => f.endsWith(".yml"))
  .map((f) => ({ file: f, text: readFileSync(join(WORKFLOWS_DIR, f), "utf8") }));

describe("the static check of run: steps and pins", () => {
  it("finds nothing in action.yml and the example workflows", () => {
    expect(workflows.map((w) => w.file).sort()).toEqual(["production.yml", "release.yml", "rollback.yml"]);
    const problems = [
      ...lintWorkflowText(actionYml, "action.yml"),
      ...workflows.flatMap((w) => lintWorkflowText(w.text, w.file)),
    ];
    expect(problems).toEqual([]);
  });

  // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub expression syntax, not a template
  it("fails on ${{ }} inside run:, a run: without shell:, and an action pinned to a tag", () => {
    const bad = `
on: push
jobs:
  a:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - shell: bash
        run: echo "\${{ github.ref_name }}"
      - run: |
          echo hi
          echo \${{inputs.tag}}
      - uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020
      - uses: relctl/release-action@v1
`;
    expect(lintWorkflowText(bad, "bad.yml").map((p) => `${p.at}: ${p.message}`)).toEqual([
      "jobs.a.steps[0]: actions/checkout@v4: pin third-party actions to a full commit SHA",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub expression syntax, not a template
      'jobs.a.steps[1]: `${{ }}` inside run: pass the value through env: and use "$NAME"',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: GitHub expression syntax, not a template
      'jobs.a.steps[2]: `${{ }}` inside run: pass the value through env: and use "$NAME"',
      "jobs.a.steps[2]: run: step without shell:",
    ]);
    const badAction = `runs:\n  using: composite\n  steps:\n    - shell: bash\n      run: echo "\${{ inputs.tag }}"\n`;
    expect(lintWorkflowText(badAction, "action.yml")).toHaveLength(1);
  });
});

describe("action.yml", () => {
  const spec = parse(actionYml) as {
    inputs: Record<string, unknown>;
    outputs: Record<string, { description: string; value?: string }>;
    runs: Record<string, unknown>;
  };

  it("is a JavaScript action on node24: main and post from dist/, post after a failed step too", () => {
    expect(spec.runs).toEqual({
      using: "node24",
      main: "dist/main.js",
      post: "dist/post.js",
      "post-if": "always()",
    });
  });

  it("declares the four outputs, which the main step sets (a JavaScript action's outputs have no value:)", () => {
    expect(Object.keys(spec.outputs)).toEqual(["release-id", "status", "previous-tag", "trace-id"]);
    for (const o of Object.values(spec.outputs)) expect(o.value).toBeUndefined();
  });

  it("is documented in README.md by the tables generated from it", () => {
    const readme = readFileSync(join(ACTION_DIR, "README.md"), "utf8");
    expect(writeActionTables(readme, actionYml), "run: pnpm --filter @relctl/action run generate").toBe(
      readme,
    );
    const { inputs, outputs } = renderActionTables(actionYml);
    expect(inputs).toMatch(
      /^\| `github-token` +\| no +\| `\$\{\{ github\.token \}\}` \| Token for GitHub Deployments/m,
    );
    expect(outputs.split("\n")).toHaveLength(2 + 4);
  });
});
