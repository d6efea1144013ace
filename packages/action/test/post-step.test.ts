import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEY_DIRS_STATE, runPostStep } from "../src/post-step.js";
import { parseFileCommands, runActionStep } from "./support/composite-runner.js";
import { packAction } from "./support/packed-action.js";

/**
 * The action's post step as the runner runs it: after main (INPUT_* and GITHUB_STATE written by
 * main's `core.saveState`, given to post as STATE_*), when main failed and when it was killed.
 */
let tmp: string;
let actionDir: string;
let workspace: string;
let privateKey: string;
/** A TCP server that accepts SSH connections and never answers: main waits there with its key written. */
let silent: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "relctl-action-post-"));
  actionDir = packAction(tmp);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(tmp, "id_test")]);
  privateKey = readFileSync(join(tmp, "id_test"), "utf8");
  silent = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const port = (silent.address() as { port: number }).port;
  workspace = join(tmp, "workspace");
  mkdirSync(workspace);
  writeFileSync(
    join(workspace, "relctl.yml"),
    `service: hello
repository: ${join(tmp, "hello.git")}
environments:
  stage:
    hosts:
      - { name: stage-1, address: 127.0.0.1, port: ${port}, user: deploy }
    path: ${join(tmp, "hosts", "stage")}
    commands: { build: "true", start: "true" }
`,
  );
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent?.close(resolve));
  rmSync(tmp, { recursive: true, force: true });
});

let runs = 0;
function job(
  withInputs: Record<string, string>,
  onMainStarted?: Parameters<typeof runActionStep>[0]["onMainStarted"],
) {
  runs++;
  const runnerTemp = mkdtempSync(join(tmp, `runner-${runs}-`));
  const port = (silent.address() as { port: number }).port;
  return {
    runnerTemp,
    result: runActionStep({
      actionDir,
      with: {
        command: "stage",
        deployments: "false",
        "ssh-private-key": privateKey,
        "known-hosts": `[127.0.0.1]:${port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`,
        ...withInputs,
      },
      runnerTemp,
      ...(onMainStarted ? { onMainStarted } : {}),
      workflow: {
        event: { ref: "refs/tags/v1.0.0" },
        eventName: "push",
        ref: "refs/tags/v1.0.0",
        repository: "acme/hello",
        runId: String(500 + runs),
        actor: "octocat",
        token: "ghs_unusedToken0123456789",
        apiUrl: "http://127.0.0.1:9",
        workspace,
      },
    }),
  };
}

const relctlFolders = (dir: string) => readdirSync(dir).filter((f) => f.startsWith("relctl-"));

it("a cancelled job: main is killed with its SSH key written, post runs all the same and removes the key", async () => {
  let keyFile: string | undefined;
  const { runnerTemp, result } = job({}, ({ child, stateFile }) => {
    // Wait until main has saved its key's folder and written the key into it, then kill it: it
    // gets no chance to clean up after itself.
    const timer = setInterval(() => {
      const dirs = parseFileCommands(readFileSync(stateFile, "utf8"))[KEY_DIRS_STATE];
      if (!dirs) return;
      const [dir] = JSON.parse(dirs) as string[];
      const files = existsSync(dir!) ? readdirSync(dir!) : [];
      if (!files.length) return;
      keyFile = join(dir!, files[0]!);
      clearInterval(timer);
      child.kill("SIGKILL");
    }, 20);
    child.on("close", () => clearInterval(timer));
  });
  const r = await result;
  expect(keyFile, r.log).toBeDefined();
  expect(r.steps.map((s) => [s.name, s.code])).toEqual([
    ["main", null],
    ["post", 0],
  ]);
  expect(r.state["main-finished"]).toBeUndefined();
  expect(existsSync(keyFile!)).toBe(false);
  expect(relctlFolders(runnerTemp)).toEqual([]);
  expect(r.log).toContain("::warning title=relctl::the relctl step did not finish");
  expect(r.log).toContain("relctl post: removed the SSH key the step wrote (1 folder)");
}, 60_000);

it("main refuses its inputs before writing a key: post runs (post-if: always()) and does nothing", async () => {
  const { runnerTemp, result } = job({ tag: "not a tag;" });
  const r = await result;
  expect(r.steps.map((s) => [s.name, s.code])).toEqual([
    ["main", 2],
    ["post", 0],
  ]);
  expect(r.state).toEqual({ "main-finished": "2" });
  expect(relctlFolders(runnerTemp)).toEqual([]);
  expect(r.log).not.toContain("relctl post:");
}, 60_000);

describe("runPostStep", () => {
  const io = () => {
    const lines: string[] = [];
    return {
      lines,
      io: {
        info: (l: string) => lines.push(l),
        warning: (m: string) => lines.push(`warning: ${m}`),
        error: (m: string) => lines.push(`error: ${m}`),
      },
    };
  };

  it("removes only relctl key folders directly in RUNNER_TEMP", () => {
    const temp = mkdtempSync(join(tmp, "unit-"));
    const key = mkdtempSync(join(temp, "relctl-"));
    writeFileSync(join(key, "id_x"), "key", { mode: 0o600 });
    const elsewhere = mkdtempSync(join(tmp, "relctl-elsewhere-"));
    const other = mkdtempSync(join(temp, "other-"));
    const out = io();
    const code = runPostStep({
      env: {
        RUNNER_TEMP: temp,
        [`STATE_${KEY_DIRS_STATE}`]: JSON.stringify([key, elsewhere, other, "relctl-relative"]),
        "STATE_main-finished": "0",
      },
      io: out.io,
    });
    expect(code).toBe(0);
    expect(existsSync(key)).toBe(false);
    expect(existsSync(elsewhere)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(out.lines.filter((l) => l.startsWith("warning: post: not removing"))).toHaveLength(3);
    expect(out.lines).toContain("relctl post: removed the SSH key the step wrote (1 folder)");
  });

  it("does nothing without state (main never wrote a key), and nothing on state it cannot read", () => {
    for (const state of [undefined, "", "not json", '{"a":1}']) {
      const out = io();
      const env: NodeJS.ProcessEnv = { RUNNER_TEMP: tmp };
      if (state !== undefined) env[`STATE_${KEY_DIRS_STATE}`] = state;
      expect(runPostStep({ env, io: out.io })).toBe(0);
      expect(out.lines).toEqual([]);
    }
  });
});
