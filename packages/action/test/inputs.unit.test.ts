import { describe, expect, it } from "vitest";
import { parseActionInputs } from "../src/inputs.js";
import { readWorkflowContext } from "../src/workflow-context.js";

const context = (event: object = {}, env: Record<string, string> = {}) =>
  readWorkflowContext({ GITHUB_REF: "refs/heads/main", ...env }, JSON.stringify(event), "/work");

const parse = (inputs: Record<string, string>, event: object = {}) =>
  parseActionInputs(
    Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [`INPUT_${k.replace(/-/g, "_").toUpperCase()}`, v]),
    ),
    context(event),
  );

describe("parseActionInputs", () => {
  it("reads the names the runner gives a JavaScript action (INPUT_SSH-PRIVATE-KEY), and the `_` form", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const runner = parseActionInputs(
      { INPUT_COMMAND: "stage", "INPUT_SSH-PRIVATE-KEY": key, "INPUT_RELEASE-ID": "7", INPUT_TAG: "v1" },
      context(),
    );
    expect(runner).toMatchObject({ sshPrivateKey: key, releaseId: 7 });
    expect(parse({ command: "stage", tag: "v1", "ssh-private-key": key }).sshPrivateKey).toBe(key);
  });

  it("takes the tag from the input, else the dispatch, else the pushed tag", () => {
    expect(parse({ command: "stage", tag: "v2.0.0" }, { ref: "refs/tags/v1.0.0" }).tag).toBe("v2.0.0");
    expect(parse({ command: "production" }, { inputs: { tag: "v1.1.0", release_id: "7" } })).toMatchObject({
      tag: "v1.1.0",
      releaseId: 7,
      environment: "production",
    });
    expect(parse({ command: "stage" }, { ref: "refs/tags/v1.0.0" })).toMatchObject({
      tag: "v1.0.0",
      tagSource: "tag (the pushed tag)",
      environment: "stage",
      configPath: "relctl.yml",
      deployments: true,
    });
  });

  it("names the input and shows the refused value safely", () => {
    expect(() => parse({ command: "stage" }, { ref: 'refs/tags/v1";curl x|sh;"' })).toThrow(
      'tag (the pushed tag): "v1\\";curl x|sh;\\"" is not an allowed tag',
    );
    expect(() => parse({ command: "stage", tag: "v1\nv2" })).toThrow(/^tag: "v1\\nv2" is not an allowed tag/);
    expect(() => parse({ command: "rollback" })).toThrow("tag: required: the tag to roll back to");
    expect(() => parse({ command: "stage", tag: "v1", "release-id": "-1" })).toThrow(
      "release-id: expected a positive whole number",
    );
    expect(() => parse({ command: "stage", tag: "v1", deployments: "yes" })).toThrow(
      "deployments: expected true or false",
    );
    expect(() => parse({ command: "stage", tag: "v1", service: "Hello World" })).toThrow(
      /^service: "Hello World" is not a valid service name/,
    );
  });

  it("takes any environment name for production: its gate comes from relctl.yml, not from the name", () => {
    expect(parse({ command: "production", tag: "v1", environment: "prod" }).environment).toBe("prod");
  });

  it("wants the API's URL and token together, the URL without credentials", () => {
    expect(() => parse({ command: "status", "api-url": "https://relctl.example" })).toThrow(
      "api-token: required with api-url",
    );
    expect(() => parse({ command: "status", "api-token": "t" })).toThrow("api-url: required with api-token");
    expect(() =>
      parse({ command: "status", "api-url": "https://u:p@relctl.example", "api-token": "t" }),
    ).toThrow("api-url: must not carry credentials");
    expect(
      parse({ command: "status", "api-url": "https://relctl.example/", "api-token": " t " }).api,
    ).toEqual({
      url: "https://relctl.example",
      token: "t",
    });
  });

  it("takes the job's OIDC ID token instead of an API token with oidc: true", () => {
    expect(parse({ command: "status", "api-url": "https://relctl.example", oidc: "true" }).api).toEqual({
      url: "https://relctl.example",
      oidcAudience: "relctl",
    });
    expect(
      parse({
        command: "status",
        "api-url": "https://relctl.example",
        oidc: "true",
        "oidc-audience": "https://a",
      }).api,
    ).toMatchObject({ oidcAudience: "https://a" });
    expect(() => parse({ command: "status", oidc: "true" })).toThrow("api-url: required with oidc");
    expect(() =>
      parse({ command: "status", "api-url": "https://r", oidc: "true", "api-token": "t" }),
    ).toThrow("api-token: leave it out with oidc");
    expect(() => parse({ command: "status", "api-url": "https://r", oidc: "yes" })).toThrow(
      "oidc: expected true or false",
    );
  });

  it("keeps a private key's text, with its final newline", () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----";
    expect(parse({ command: "status", "ssh-private-key": key }).sshPrivateKey).toBe(`${key}\n`);
    expect(() => parse({ command: "status", "ssh-private-key": "hunter2" })).toThrow(
      "ssh-private-key: expected a private key",
    );
  });
});

describe("readWorkflowContext", () => {
  it("reads the run's link and picks only ref and string inputs from the event", () => {
    const c = readWorkflowContext(
      { GITHUB_REPOSITORY: "acme/hello", GITHUB_RUN_ID: "42", GITHUB_ACTOR: "octocat", RUNNER_TEMP: "/t" },
      JSON.stringify({
        ref: "refs/tags/v1",
        inputs: { tag: "v1", n: 3, o: { x: 1 } },
        head_commit: { message: "x" },
      }),
      "/work",
    );
    expect(c).toMatchObject({
      repository: { owner: "acme", repo: "hello" },
      runUrl: "https://github.com/acme/hello/actions/runs/42",
      actor: "octocat",
      tempDir: "/t",
      workspace: "/work",
      event: { ref: "refs/tags/v1", inputs: { tag: "v1", n: "3" } },
    });
    expect(readWorkflowContext({}, "not json", "/w").event).toEqual({ inputs: {} });
  });
});
