import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { parse } from "yaml";
import { lintWorkflowText } from "../scripts/workflow-lint.js";
import { runActionStep } from "./support/composite-runner.js";

/**
 * .github/workflows/release-action.yml, its publish step run here as the workflow runs it, in dry
 * run: the action is built into a clone of the action's repository and committed there, and
 * nothing is pushed.
 */
const ROOT = join(import.meta.dirname, "..", "..", "..");
const WORKFLOW = join(ROOT, ".github", "workflows", "release-action.yml");
const workflowText = readFileSync(WORKFLOW, "utf8");

interface Step {
  name?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
}
const workflow = parse(workflowText) as {
  on: { push: { tags: string[] }; workflow_dispatch: { inputs: Record<string, { default?: unknown }> } };
  jobs: { release: { steps: Step[] } };
};
const steps = workflow.jobs.release.steps;

const tmp = mkdtempSync(join(tmpdir(), "relctl-release-workflow-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  }).trim();

it("runs on a version tag and by hand, dry run by default; builds, tests the action and publishes; passes the workflow check", () => {
  expect(workflow.on.push.tags).toEqual(["v*"]);
  expect(workflow.on.workflow_dispatch.inputs.dry_run?.default).toBe(true);
  expect(steps.map((s) => s.run?.split("\n")[0]).filter(Boolean)).toEqual([
    "npm install --global pnpm@10",
    "sudo apt-get update -qq",
    "pnpm install --frozen-lockfile",
    "pnpm run build",
    "pnpm exec vitest run packages/action",
    'args=(--version "$VERSION" --source-commit "$SOURCE_COMMIT")',
  ]);
  expect(lintWorkflowText(workflowText, "release-action.yml")).toEqual([]);
});

it("a dry run of the publish step: the action alone committed on releases/v1 over the last release, tags shown, nothing pushed", async () => {
  // The action's repository with a release before this one (and stray files a release must not keep).
  const remote = join(tmp, "release-action.git");
  git(tmp, "init", "--quiet", "--bare", remote);
  const seed = join(tmp, "seed");
  git(tmp, "clone", "--quiet", remote, seed);
  git(seed, "checkout", "--quiet", "--orphan", "releases/v1");
  mkdirSync(join(seed, "dist"));
  mkdirSync(join(seed, "node_modules", "left-over"), { recursive: true });
  writeFileSync(join(seed, "action.yml"), "runs: { using: composite, steps: [] }\n");
  writeFileSync(join(seed, "dist", "main.js"), "// old\n");
  writeFileSync(join(seed, "node_modules", "left-over", "index.js"), "// old\n");
  git(seed, "add", "--all");
  git(seed, "commit", "--quiet", "-m", "relctl action v1.0.0");
  git(seed, "tag", "v1.0.0");
  git(seed, "tag", "v1");
  git(seed, "push", "--quiet", "origin", "releases/v1", "v1.0.0", "v1");
  const previous = git(seed, "rev-parse", "HEAD");
  const refsBefore = git(remote, "show-ref");

  // The publish step's own script and env, with what GitHub would put in its expressions.
  const publish = steps.find((s) => s.name === "Publish")!;
  expect(publish.shell).toBe("bash");
  const given: Record<string, string> = {
    VERSION: "v1.1.0",
    DRY_RUN: "true",
    SOURCE_COMMIT: "0123456789abcdef0123456789abcdef01234567",
    ACTION_REPOSITORY_URL: remote,
    ACTION_PUBLISH_TOKEN: "",
  };
  expect(Object.keys(publish.env ?? {}).sort()).toEqual(Object.keys(given).sort());
  const script = join(tmp, "publish.sh");
  writeFileSync(script, publish.run!);
  const r = spawnSync("bash", ["--noprofile", "--norc", "-e", "-o", "pipefail", script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...given },
    encoding: "utf8",
  });
  expect(r.status, r.stderr).toBe(0);
  const out = r.stdout;
  const clone = /^clone: (.+)$/m.exec(out)![1]!;
  const commit = git(clone, "rev-parse", "HEAD");
  try {
    // The published tree: the action and nothing else.
    expect(git(clone, "ls-tree", "-r", "--name-only", commit).split("\n")).toEqual([
      "README.md",
      "action.yml",
      "dist/main.js",
      "dist/post.js",
      "package.json",
    ]);
    expect(git(clone, "show", `${commit}:action.yml`)).toMatch(/^ {2}using: node24$/m);
    expect(git(clone, "log", "-1", "--format=%s", commit)).toBe(
      `relctl action v1.1.0 from ${given.SOURCE_COMMIT}`,
    );
    // It follows the last release on the branch; the version tag is new, the major tag moves.
    expect(git(clone, "rev-parse", `${commit}^`)).toBe(previous);
    expect(git(clone, "rev-parse", "v1.1.0^{commit}", "v1^{commit}").split("\n")).toEqual([commit, commit]);
    expect(out).toContain(`branch releases/v1: ${previous} -> ${commit}`);
    expect(out).toContain(`tag v1.1.0: (new) -> ${commit}`);
    expect(out).toContain(`tag v1: ${previous} -> ${commit}`);
    expect(out).toContain(
      "dry run, not run: git push --atomic origin refs/heads/releases/v1:refs/heads/releases/v1 refs/tags/v1.1.0:refs/tags/v1.1.0",
    );
    expect(out).toContain("dry run, not run: git push --force origin refs/tags/v1:refs/tags/v1");
    // Nothing was pushed.
    expect(git(remote, "show-ref")).toBe(refsBefore);

    // The published action runs as the runner runs it: main refuses a bad input, post still runs.
    git(clone, "checkout", "--quiet", commit);
    const workspace = mkdtempSync(join(tmp, "workspace-"));
    const run = await runActionStep({
      actionDir: clone,
      with: { command: "deploy-everything" },
      runnerTemp: mkdtempSync(join(tmp, "runner-")),
      workflow: {
        event: {},
        eventName: "push",
        ref: "refs/heads/main",
        repository: "acme/hello",
        runId: "1",
        actor: "octocat",
        token: "ghs_unused",
        apiUrl: "http://127.0.0.1:9",
        workspace,
      },
    });
    expect(run.steps.map((s) => [s.name, s.code])).toEqual([
      ["main", 2],
      ["post", 0],
    ]);
  } finally {
    rmSync(join(clone, ".."), { recursive: true, force: true });
  }
}, 120_000);

it("refuses a version that is not vMAJOR.MINOR.PATCH, before building anything", () => {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "packages", "action", "scripts", "publish.mjs"), "--version", "v1", "--dry-run"],
    { encoding: "utf8" },
  );
  expect(r.status).toBe(2);
  expect(r.stderr).toBe('publish: --version: expected vMAJOR.MINOR.PATCH, got "v1"\n');
});
