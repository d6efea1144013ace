import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { packAction } from "./support/packed-action.js";

const out = mkdtempSync(join(tmpdir(), "relctl-action-pack-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

it("packs the action as published: main and post, each one bundled file that runs with no node_modules anywhere near it", () => {
  const action = packAction(out);
  expect(readdirSync(action).sort()).toEqual(["README.md", "action.yml", "dist", "package.json"]);
  expect(readdirSync(join(action, "dist")).sort()).toEqual(["main.js", "post.js"]);
  // Run from a folder outside the workspace: every module (ssh2, Octokit, relctl) loads from the bundle.
  const r = spawnSync(process.execPath, [join(action, "dist", "main.js")], {
    cwd: out,
    env: { PATH: process.env.PATH, INPUT_COMMAND: "deploy-everything" },
    encoding: "utf8",
  });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(2);
  expect(r.stdout).toContain(
    '::error title=relctl::command: expected one of stage, production, rollback, status, got "deploy-everything"',
  );
  // The post step with nothing to remove says nothing and succeeds.
  const post = spawnSync(process.execPath, [join(action, "dist", "post.js")], {
    cwd: out,
    env: { PATH: process.env.PATH, RUNNER_TEMP: out },
    encoding: "utf8",
  });
  expect([post.status, post.stdout, post.stderr]).toEqual([0, "", ""]);
});
