import { describe, expect, it } from "vitest";
import {
  authorizeWorkflow,
  type OidcPolicy,
  validateOidcPolicy,
  type WorkflowClaims,
  workflowClaimsOf,
  workflowMatches,
  workflowServices,
} from "../../src/domain/oidc.js";

const claims: WorkflowClaims = {
  repository: "acme/hello",
  repositoryId: "4242",
  repositoryOwner: "acme",
  repositoryOwnerId: "77",
  jobWorkflowRef: "acme/hello/.github/workflows/release.yml@refs/tags/v1.0.0",
  ref: "refs/tags/v1.0.0",
  jti: "j1",
  expiresAt: new Date(0),
  actor: "octocat",
};
const policy = (over: Partial<OidcPolicy> = {}): OidcPolicy => ({
  id: 1,
  service: "hello",
  repositoryId: "4242",
  ownerId: "77",
  workflow: "acme/hello/.github/workflows/release.yml@refs/tags/*",
  createdBy: "admin",
  createdAt: new Date(0),
  ...over,
});

describe("the workflow claims policy", () => {
  it("allows the repository, owner and workflow of the policy on the release's own tag", () => {
    expect(authorizeWorkflow(claims, [policy()], { service: "hello", tag: "v1.0.0" }).id).toBe(1);
    expect(authorizeWorkflow(claims, [policy()], { service: "hello" }).id).toBe(1);
  });

  it.each<[string, Partial<WorkflowClaims>, { service: string; tag?: string }, RegExp]>([
    ["another service", {}, { service: "auth" }, /no workflow is allowed for the service auth/],
    ["another repository", { repositoryId: "1" }, { service: "hello" }, /repository acme\/hello \(id 1\)/],
    ["another owner", { repositoryOwnerId: "2" }, { service: "hello" }, /owner acme \(id 2\)/],
    [
      "another workflow",
      { jobWorkflowRef: "acme/hello/.github/workflows/x.yml@refs/tags/v1.0.0" },
      { service: "hello" },
      /the workflow .*x\.yml.* is not allowed/,
    ],
    [
      "another ref",
      { ref: "refs/heads/main" },
      { service: "hello", tag: "v1.0.0" },
      /ran on refs\/heads\/main/,
    ],
  ])("refuses %s, saying which claim", (_what, over, request, reason) => {
    expect(() => authorizeWorkflow({ ...claims, ...over }, [policy()], request)).toThrow(reason);
  });

  it("matches a workflow exactly, or with * for any characters, and nothing else", () => {
    expect(
      workflowMatches(
        "a/b/.github/workflows/r.yml@refs/heads/main",
        "a/b/.github/workflows/r.yml@refs/heads/main",
      ),
    ).toBe(true);
    expect(
      workflowMatches("a/b/.github/workflows/r.yml@refs/tags/*", "a/b/.github/workflows/r.yml@refs/tags/v1"),
    ).toBe(true);
    expect(
      workflowMatches("a/b/.github/workflows/r.yml@refs/tags/*", "a/b/.github/workflows/rxyml@refs/tags/v1"),
    ).toBe(false);
    expect(
      workflowMatches(
        "a/b/.github/workflows/r.yml@refs/tags/v1",
        "a/b/.github/workflows/r.yml@refs/tags/v10",
      ),
    ).toBe(false);
  });

  it("lists the services a workflow may read", () => {
    expect(workflowServices(claims, [policy(), policy({ service: "auth", repositoryId: "1" })])).toEqual([
      "hello",
    ]);
  });

  it("checks a policy's ids and workflow, and reads the claims relctl needs", () => {
    expect(() =>
      validateOidcPolicy({ service: "hello", repositoryId: "acme", ownerId: "1", workflow: "a/b/c@d" }),
    ).toThrow(/repository-id: expected GitHub's numeric id/);
    expect(() =>
      validateOidcPolicy({ service: "hello", repositoryId: "1", ownerId: "1", workflow: "*" }),
    ).toThrow(/workflow/);
    expect(
      validateOidcPolicy({
        service: "hello",
        repositoryId: 1,
        ownerId: "2",
        workflow: "a/b/.github/workflows/c.yml@*",
      }),
    ).toMatchObject({
      repositoryId: "1",
    });
    expect(() => workflowClaimsOf({ exp: 1, repository: "a/b" })).toThrow(
      /oidc: the token has no repository_id claim/,
    );
  });
});
