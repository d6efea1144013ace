#!/usr/bin/env node
// Assembles the action as it is published: action.yml, README.md, dist/main.js (relctl and every
// dependency in one file: the runner installs nothing), dist/post.js (the post step) and a
// package.json that makes Node read the bundles as ES modules. See README.md, "Releasing the action".
//
//   node packages/action/scripts/pack.mjs [outDir]     (default: packages/action/release)
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const actionDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(actionDir, "..", "..");
const out = resolve(process.argv[2] ?? join(actionDir, "release"));

rmSync(out, { recursive: true, force: true });
execFileSync(
  process.execPath,
  [join(root, "scripts", "build.mjs"), "action", "--outdir", join(out, "dist")],
  {
    stdio: "inherit",
  },
);
// The source maps are for development; the published action is the two files.
for (const map of ["main.js.map", "post.js.map"]) rmSync(join(out, "dist", map), { force: true });
copyFileSync(join(actionDir, "action.yml"), join(out, "action.yml"));
copyFileSync(join(actionDir, "README.md"), join(out, "README.md"));
writeFileSync(
  join(out, "package.json"),
  `${JSON.stringify({ name: "relctl-release-action", private: true, type: "module" }, null, 2)}\n`,
);
console.log(out);
