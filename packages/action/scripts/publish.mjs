#!/usr/bin/env node
// Publishes the action: packs it (scripts/pack.mjs: action.yml, README.md, dist/main.js,
// dist/post.js, package.json) into a clone of the action's repository, commits that tree alone on
// the release branch (releases/v<major>), tags the version and moves the major tag to it. The
// built files live only there, never on this repository's main. .github/workflows/release-action.yml
// runs it on a version tag; `--dry-run` does everything but push and says what it would push.
//
//   node packages/action/scripts/publish.mjs --version v1.2.3 [--repository <git url>]
//     [--branch releases/v1] [--source-commit <sha>] [--dry-run]
//
// --repository defaults to $ACTION_REPOSITORY_URL; a dry run without one publishes into a new empty
// repository in a temporary folder. $ACTION_PUBLISH_TOKEN, when set, authenticates git to github.com.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const actionDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(actionDir, "..", "..");

function fail(message) {
  console.error(`publish: ${message}`);
  process.exit(2);
}

function option(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const value = process.argv[i + 1];
  if (!value || value.startsWith("--")) fail(`--${name} needs a value`);
  return value;
}

const dryRun = process.argv.includes("--dry-run");
const version = option("version") ?? process.env.GITHUB_REF_NAME;
const parsed = /^v(\d+)\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.exec(version ?? "");
if (!parsed) fail(`--version: expected vMAJOR.MINOR.PATCH, got ${JSON.stringify(version ?? "")}`);
const majorTag = `v${parsed[1]}`;
const branch = option("branch") ?? `releases/${majorTag}`;
const git = (cwd, args, opts = {}) =>
  execFileSync("git", [...authConfig(), ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    ...opts,
  }).trim();
const sourceCommit = option("source-commit") ?? process.env.GITHUB_SHA ?? git(root, ["rev-parse", "HEAD"]);

/** git -c options that give github.com the token, without writing it into a URL or a file. */
function authConfig() {
  const token = process.env.ACTION_PUBLISH_TOKEN;
  if (!token) return [];
  const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
  return ["-c", `http.https://github.com/.extraheader=AUTHORIZATION: basic ${basic}`];
}

const work = mkdtempSync(join(tmpdir(), "relctl-action-publish-"));
let repository = option("repository") ?? process.env.ACTION_REPOSITORY_URL;
if (!repository) {
  if (!dryRun) fail("--repository (or ACTION_REPOSITORY_URL) is required to publish");
  repository = join(work, "empty.git");
  git(work, ["init", "--quiet", "--bare", repository]);
}

// 1. A clone of the action's repository on the release branch (a new branch with no history on
//    the first release), emptied: the published tree is exactly what pack.mjs assembles.
const clone = join(work, "clone");
git(work, ["clone", "--quiet", "--no-checkout", repository, clone]);
const remoteRef = (ref) => git(clone, ["ls-remote", "origin", ref]).split(/\s+/)[0] || undefined;
const previous = remoteRef(`refs/heads/${branch}`);
if (previous) git(clone, ["checkout", "--quiet", "-B", branch, `origin/${branch}`]);
else git(clone, ["checkout", "--quiet", "--orphan", branch]);
git(clone, ["rm", "-r", "-q", "--force", "--ignore-unmatch", "."]);
if (remoteRef(`refs/tags/${version}`)) fail(`${version} is already published in ${repository}`);

// 2. The action as published, built from this checkout.
const packed = join(work, "packed");
execFileSync(process.execPath, [join(actionDir, "scripts", "pack.mjs"), packed], {
  stdio: ["ignore", "ignore", "inherit"],
});
for (const entry of readdirSync(packed)) cpSync(join(packed, entry), join(clone, entry), { recursive: true });
rmSync(packed, { recursive: true, force: true });

// 3. One commit, the version tag on it, the major tag moved to it.
git(clone, ["add", "--all"]);
const identity = [
  "-c",
  `user.name=${process.env.GIT_AUTHOR_NAME ?? "github-actions[bot]"}`,
  "-c",
  `user.email=${process.env.GIT_AUTHOR_EMAIL ?? "41898282+github-actions[bot]@users.noreply.github.com"}`,
];
git(clone, [
  ...identity,
  "commit",
  "--quiet",
  "--allow-empty",
  "-m",
  `relctl action ${version} from ${sourceCommit}`,
]);
const commit = git(clone, ["rev-parse", "HEAD"]);
git(clone, ["tag", version, commit]);
git(clone, ["tag", "--force", majorTag, commit]);

// 4. The tree is the action and nothing else.
const tree = git(clone, ["ls-tree", "-r", "--name-only", commit]).split("\n");
for (const required of ["action.yml", "dist/main.js", "dist/post.js"]) {
  if (!tree.includes(required)) fail(`the published tree has no ${required}`);
}
if (tree.some((f) => f.split("/").includes("node_modules"))) fail("the published tree holds node_modules");

const oldMajor = remoteRef(`refs/tags/${majorTag}`);
console.log(`publish: ${version} of the action from ${sourceCommit} to ${repository}`);
console.log(`clone: ${clone}`);
console.log(`tree of ${commit}:`);
for (const file of tree) console.log(`  ${file}`);
console.log(`branch ${branch}: ${previous ?? "(new)"} -> ${commit}`);
console.log(`tag ${version}: (new) -> ${commit}`);
console.log(`tag ${majorTag}: ${oldMajor ?? "(new)"} -> ${commit}`);

// 5. Push: the branch and the new version tag, then the major tag (moved: forced).
const pushes = [
  [
    "push",
    "--atomic",
    "origin",
    `refs/heads/${branch}:refs/heads/${branch}`,
    `refs/tags/${version}:refs/tags/${version}`,
  ],
  ["push", "--force", "origin", `refs/tags/${majorTag}:refs/tags/${majorTag}`],
];
for (const args of pushes) {
  if (dryRun) console.log(`dry run, not run: git ${args.join(" ")}`);
  else git(clone, args, { stdio: ["ignore", "inherit", "inherit"] });
}
if (!dryRun) rmSync(work, { recursive: true, force: true });
