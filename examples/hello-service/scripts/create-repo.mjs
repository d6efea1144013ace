#!/usr/bin/env node
// Builds a real git repository of hello-service with one annotated tag per release, plus a bare
// clone that plays "origin". app/ is the tree at the newest tag; older tags leave out the later
// migrations and get their own VERSION file and flags.mjs values.
//
//   node scripts/create-repo.mjs <dir>      creates <dir>/hello and <dir>/hello.git, prints the latter
//
//   import { createHelloRepo } from "./scripts/create-repo.mjs";
//   const { workDir, bareDir, tags } = await createHelloRepo({ dir });
//
// Author, committer and dates are fixed, so the commit ids are the same on every run.
import { execFile } from "node:child_process";
import { realpathSync } from "node:fs";
import { cp, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const APP_DIR = fileURLToPath(new URL("../app/", import.meta.url));

export const RELEASES = [
  {
    tag: "v1.0.0",
    version: "1.0.0",
    schema: 1,
    flags: { RECORD_VISITS: false, NEEDS_FEATURE_FLAGS_URL: false },
    date: "2024-01-10T12:00:00Z",
    message: "hello-service 1.0.0: greetings table",
  },
  {
    tag: "v1.1.0",
    version: "1.1.0",
    schema: 2,
    flags: { RECORD_VISITS: true, NEEDS_FEATURE_FLAGS_URL: false },
    date: "2024-02-10T12:00:00Z",
    message: "hello-service 1.1.0: greetings.lang and visits table; GET / records a visit",
  },
  {
    tag: "v1.2.0",
    version: "1.2.0",
    schema: 3,
    flags: { RECORD_VISITS: true, NEEDS_FEATURE_FLAGS_URL: true },
    date: "2024-03-10T12:00:00Z",
    message: "hello-service 1.2.0: feature_flags table; needs FEATURE_FLAGS_URL (production lacks it)",
  },
];

// Ignore the caller's git configuration (signing, hooks, templates) and any GIT_DIR-style variables.
const gitEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("GIT_"))),
  GIT_CONFIG_GLOBAL: process.platform === "win32" ? "NUL" : "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_TERMINAL_PROMPT: "0",
};

async function git(cwd, args, env = {}) {
  const { stdout } = await promisify(execFile)("git", args, { cwd, env: { ...gitEnv, ...env } });
  return stdout.trim();
}

/** The migration number of a migrations/NNNN_*.sql file, or undefined for any other path. */
function migrationNumber(path) {
  const match = /^(\d{4})_.*\.sql$/.exec(basename(path));
  return match && basename(dirname(path)) === "migrations" ? Number(match[1]) : undefined;
}

function setFlags(source, flags) {
  let text = source;
  for (const [name, value] of Object.entries(flags)) {
    const pattern = new RegExp(`^(export const ${name} = )(true|false);`, "m");
    if (!pattern.test(text)) throw new Error(`create-repo: flags.mjs does not define ${name}`);
    text = text.replace(pattern, `$1${value};`);
  }
  return text;
}

/** Replace the work tree with the service as it is at `release`. */
async function writeTree(workDir, release) {
  for (const entry of await readdir(workDir)) {
    if (entry !== ".git") await rm(join(workDir, entry), { recursive: true, force: true });
  }
  await cp(APP_DIR, workDir, {
    recursive: true,
    filter: (src) => basename(src) !== "node_modules" && (migrationNumber(src) ?? 0) <= release.schema,
  });
  await writeFile(join(workDir, "VERSION"), `${release.version}\n`);
  const flagsFile = join(workDir, "flags.mjs");
  await writeFile(flagsFile, setFlags(await readFile(flagsFile, "utf8"), release.flags));
}

/**
 * Create <dir>/hello (work repository, branch main, one commit and annotated tag per release)
 * and, unless bare is false, <dir>/hello.git (bare clone, set as the work repository's origin).
 * Refuses a dir that exists and is not empty (error.code "ENOTEMPTY").
 */
export async function createHelloRepo({ dir, bare = true }) {
  const root = resolve(dir);
  const existing = await readdir(root).catch((err) => (err.code === "ENOENT" ? [] : Promise.reject(err)));
  if (existing.length > 0) {
    throw Object.assign(new Error(`create-repo: ${root} exists and is not empty`), { code: "ENOTEMPTY" });
  }
  const workDir = join(root, "hello");
  await mkdir(workDir, { recursive: true });

  await git(workDir, ["init", "--quiet", "--initial-branch=main"]);
  await git(workDir, ["config", "user.name", "hello-service"]);
  await git(workDir, ["config", "user.email", "hello-service@example.invalid"]);
  await git(workDir, ["config", "core.autocrlf", "false"]);

  for (const release of RELEASES) {
    await writeTree(workDir, release);
    const dates = { GIT_AUTHOR_DATE: release.date, GIT_COMMITTER_DATE: release.date };
    await git(workDir, ["add", "--all"]);
    await git(workDir, ["commit", "--quiet", "--message", release.message], dates);
    await git(
      workDir,
      ["tag", "--annotate", release.tag, "--message", `hello-service ${release.version}`],
      dates,
    );
  }

  let bareDir = null;
  if (bare) {
    bareDir = join(root, "hello.git");
    await git(root, ["clone", "--quiet", "--bare", workDir, bareDir]);
    await git(workDir, ["remote", "add", "origin", bareDir]);
  }
  return { workDir, bareDir, tags: RELEASES.map((r) => r.tag) };
}

const invokedDirectly = process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const [dir, ...rest] = process.argv.slice(2);
  if (!dir || rest.length > 0) {
    console.error("usage: node create-repo.mjs <dir>");
    process.exit(2);
  }
  try {
    const { bareDir } = await createHelloRepo({ dir });
    console.log(bareDir);
  } catch (err) {
    console.error(err.code === "ENOTEMPTY" ? err.message : `create-repo: ${err.message}`);
    process.exitCode = err.code === "ENOTEMPTY" ? 2 : 1;
  }
}
