import { type GithubEmulator, startGithubEmulator } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createGithubDeployments } from "../src/github-deployments.js";

/** The action's GitHub client against the emulator: what GitHub fails on its side is tried again. */
let github: GithubEmulator;
beforeAll(async () => {
  github = await startGithubEmulator();
});
afterAll(async () => {
  await github?.stop();
});

const api = () =>
  createGithubDeployments({ token: "ghs_test", baseUrl: github.url, owner: "acme", repo: "shop" });
const calls = (path: RegExp) => github.requests.filter((r) => r.method === "GET" && path.test(r.path)).length;

it("a 502 from GitHub is tried again, and the call succeeds", async () => {
  const before = calls(/\/deployments/);
  github.failNext("GET", /\/deployments/, { status: 502, body: { message: "Bad Gateway" } });
  expect(await api().history("production", "shop")).toEqual([]);
  expect(calls(/\/deployments/) - before).toBe(2);
});

it("a refusal (403) is not tried again", async () => {
  const before = calls(/\/deployments/);
  github.failNext("GET", /\/deployments/, {
    status: 403,
    body: { message: "Resource not accessible by integration" },
  });
  await expect(api().history("production", "shop")).rejects.toThrow(/403/);
  expect(calls(/\/deployments/) - before).toBe(1);
});
