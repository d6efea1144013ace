import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { GithubEmulator, githubBadGateway, secondaryRateLimit } from "@relctl/testkit";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGithubWorkflowDispatcher, type WorkflowDispatch } from "../../src/index.js";

const TOKEN = "ghp_testtokenTESTTOKEN1234567890abcd";
const DISPATCH: WorkflowDispatch = {
  owner: "acme",
  repo: "auth",
  workflow: "production.yml",
  ref: "main",
  inputs: { release_id: "7", tag: "v1.0.0" },
};
const RUNS = /\/actions\/workflows\/production\.yml\/runs$/;

async function failure(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "it should have failed").toBeDefined();
  return err as {
    code: string;
    message: string;
    details: { status: number | null; retryable: boolean; ambiguous: boolean };
  };
}

/**
 * Octokit's retry and throttling plugins in the dispatcher: what surely did nothing is tried again
 * in the process; a dispatch GitHub may have acted on is never repeated here (the deploy worker's
 * durable, deduplicated request decides); reads are repeated on GitHub's 5xx.
 */
describe("the GitHub dispatcher's retries", () => {
  let github: GithubEmulator;
  const dispatcher = () => createGithubWorkflowDispatcher({ token: TOKEN, baseUrl: github.url });

  beforeAll(async () => {
    github = await new GithubEmulator().start();
  });
  afterAll(async () => {
    await github?.stop();
  });
  beforeEach(() => {
    github.script = undefined;
    github.dispatches.length = 0;
  });

  it("a secondary rate limit (429, Retry-After) is sat out, then the workflow is dispatched exactly once", async () => {
    const answers = [secondaryRateLimit(1)];
    github.script = () => answers.shift();
    const started = Date.now();
    await dispatcher().dispatch(DISPATCH);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(github.dispatches.map((d) => d.status)).toEqual([429, 204]);
    expect(github.accepted()).toHaveLength(1);
    expect(github.runs).toHaveLength(1);
  });

  it("so is one answered 403 (a secondary limit is not a refusal)", async () => {
    const answers = [secondaryRateLimit(1, 403)];
    github.script = () => answers.shift();
    await dispatcher().dispatch(DISPATCH);
    expect(github.dispatches.map((d) => d.status)).toEqual([403, 204]);
  });

  it("a rate limit longer than the bounded wait is not sat out: the durable path retries it", async () => {
    github.script = () => secondaryRateLimit(600);
    const err = await failure(dispatcher().dispatch(DISPATCH));
    expect(github.dispatches).toHaveLength(1);
    expect(err.details).toEqual({ status: 429, retryable: true, ambiguous: false });
  });

  it("a 502 on the dispatch is not repeated in the process: it goes to the deploy worker", async () => {
    github.script = () => githubBadGateway();
    const err = await failure(dispatcher().dispatch(DISPATCH));
    expect(github.dispatches).toHaveLength(1);
    expect(err.code).toBe("github_failed");
    expect(err.details).toMatchObject({ status: 502, retryable: true });
    expect(err.message).not.toContain(TOKEN);
  });

  it("a refusal (404) is not repeated", async () => {
    github.script = () => 404;
    const err = await failure(dispatcher().dispatch(DISPATCH));
    expect(github.dispatches).toHaveLength(1);
    expect(err.details).toEqual({ status: 404, retryable: false, ambiguous: false });
  });

  it("a dispatch with no answer in time is ambiguous and asked once", async () => {
    const requests: string[] = [];
    const silent: Server = createServer((req) => requests.push(String(req.url)));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const { port } = silent.address() as AddressInfo;
      // Writes are spaced a second apart (throttling's write queue): let the last one's second pass.
      await new Promise((r) => setTimeout(r, 1100));
      const err = await failure(
        createGithubWorkflowDispatcher({
          token: TOKEN,
          baseUrl: `http://127.0.0.1:${port}`,
          timeoutMs: 1500,
        }).dispatch(DISPATCH),
      );
      expect(err.details).toEqual({ status: null, retryable: false, ambiguous: true });
      expect(err.message).toContain("no answer in time");
      await new Promise((r) => setTimeout(r, 1500));
      expect(requests).toHaveLength(1);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
    }
  });

  it("a refused connection never reached GitHub: retryable, never ambiguous", async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    const err = await failure(
      createGithubWorkflowDispatcher({ token: TOKEN, baseUrl: `http://127.0.0.1:${port}` }).dispatch(
        DISPATCH,
      ),
    );
    expect(err.details).toEqual({ status: null, retryable: true, ambiguous: false });
    expect(err.message).toContain("could not reach GitHub");
  });

  it("finds the run a dispatch started, and a read is repeated on a 502", async () => {
    const d = dispatcher();
    const since = new Date();
    await d.dispatch(DISPATCH);
    const before = github.requests.filter((r) => RUNS.test(r.path)).length;
    github.failNext("GET", RUNS, githubBadGateway());
    const run = await d.findDispatchedRun!(DISPATCH, since);
    expect(run).toEqual({ id: github.runs.at(-1)!.id, url: github.runs.at(-1)!.html_url });
    const reads = github.requests.filter((r) => RUNS.test(r.path)).slice(before);
    expect(reads).toHaveLength(2);
    expect(reads[1]!.query.get("event")).toBe("workflow_dispatch");
    expect(reads[1]!.query.get("branch")).toBe("main");
  });
});
