import { UsageError } from "../errors.js";
import { describe, validateService } from "./names.js";

/**
 * GitHub Actions OIDC: a workflow proves who it is with an ID token the runner mints for the job.
 * The API verifies the token's signature, issuer, audience and lifetime (the bot's HTTP door) and
 * then asks this module whether those claims may act on a service: per service, a policy names
 * the repository and its owner by their numeric ids (immutable: a renamed or re-created
 * repository of the same name does not match) and the workflow file the job runs
 * (`job_workflow_ref`, exact or with `*`). A call on a release must come from a job run on that
 * release's tag (`ref` = `refs/tags/<tag>`). A matching caller may do what a service's API token
 * does (`service:<name>`): create, move and read that service's releases; never approve, reject,
 * roll back or post alerts.
 */

/** The issuer of GitHub Actions' ID tokens, the default of RELCTL_OIDC_ISSUER. */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";
/** The audience the action asks for and the API expects unless configured otherwise. */
export const DEFAULT_OIDC_AUDIENCE = "relctl";

/** The claims of a verified ID token that relctl reads. */
export interface WorkflowClaims {
  readonly repository: string;
  readonly repositoryId: string;
  readonly repositoryOwner: string;
  readonly repositoryOwnerId: string;
  readonly jobWorkflowRef: string;
  readonly ref: string;
  readonly jti: string;
  readonly expiresAt: Date;
  /** The GitHub login that started the run, when the token names it. */
  readonly actor: string | undefined;
}

/** One service's allowance for a workflow. */
export interface OidcPolicy {
  readonly id: number;
  readonly service: string;
  readonly repositoryId: string;
  readonly ownerId: string;
  /** A job_workflow_ref, exact or with `*` (any run of characters). */
  readonly workflow: string;
  readonly createdBy: string;
  readonly createdAt: Date;
}

export interface OidcPolicyInput {
  readonly service: string;
  readonly repositoryId: unknown;
  readonly ownerId: unknown;
  readonly workflow: unknown;
}

const NUMERIC_ID = /^\d{1,20}$/;
/** owner/repo/path/to/workflow.yml@ref, with `*` allowed; no spaces or control characters. */
const WORKFLOW_PATTERN = /^[A-Za-z0-9_.*-]+\/[A-Za-z0-9_.*-]+\/[A-Za-z0-9_./*-]+@[A-Za-z0-9_./*+-]+$/;

function numericId(value: unknown, field: string): string {
  const text = typeof value === "number" && Number.isSafeInteger(value) ? String(value) : value;
  if (typeof text !== "string" || !NUMERIC_ID.test(text)) {
    throw new UsageError(
      "invalid_oidc_policy",
      `${field}: expected GitHub's numeric id, got ${describe(value)}`,
      { hint: "read it with: gh api repos/<owner>/<repo> --jq '.id, .owner.id'" },
    );
  }
  return text;
}

/** Checks a policy's fields. Pure. */
export function validateOidcPolicy(
  input: OidcPolicyInput,
): Omit<OidcPolicy, "id" | "createdBy" | "createdAt"> {
  const service = validateService(input.service);
  const repositoryId = numericId(input.repositoryId, "repository-id");
  const ownerId = numericId(input.ownerId, "owner-id");
  const workflow = input.workflow;
  if (typeof workflow !== "string" || workflow.length > 300 || !WORKFLOW_PATTERN.test(workflow)) {
    throw new UsageError(
      "invalid_oidc_policy",
      `workflow: ${describe(workflow)} is not a job_workflow_ref (owner/repo/.github/workflows/file.yml@ref, * for any characters)`,
    );
  }
  if (workflow.startsWith("*")) {
    throw new UsageError(
      "invalid_oidc_policy",
      "workflow: must name its owner and repository, not start with *",
    );
  }
  return { service, repositoryId, ownerId, workflow };
}

/** Whether a job_workflow_ref matches a policy's pattern (`*`: any run of characters). */
export function workflowMatches(pattern: string, jobWorkflowRef: string): boolean {
  if (!pattern.includes("*")) return pattern === jobWorkflowRef;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*")}$`,
  );
  return re.test(jobWorkflowRef);
}

const unauthorized = (message: string) => new UsageError("unauthorized", `oidc: ${message}`);

function stringClaim(payload: Readonly<Record<string, unknown>>, name: string): string {
  const value = payload[name];
  if (typeof value !== "string" || value.length === 0 || value.length > 500) {
    throw unauthorized(`the token has no ${name} claim`);
  }
  return value;
}

/**
 * The claims relctl reads from a verified token's payload; 401 when one is missing. Pure: the
 * signature, issuer, audience and times are checked before (the HTTP door, with jose).
 */
export function workflowClaimsOf(payload: Readonly<Record<string, unknown>>): WorkflowClaims {
  const exp = payload.exp;
  if (typeof exp !== "number") throw unauthorized("the token has no exp claim");
  const actor = payload.actor;
  return {
    repository: stringClaim(payload, "repository"),
    repositoryId: stringClaim(payload, "repository_id"),
    repositoryOwner: stringClaim(payload, "repository_owner"),
    repositoryOwnerId: stringClaim(payload, "repository_owner_id"),
    jobWorkflowRef: stringClaim(payload, "job_workflow_ref"),
    ref: stringClaim(payload, "ref"),
    jti: stringClaim(payload, "jti"),
    expiresAt: new Date(exp * 1000),
    actor: typeof actor === "string" && /^[A-Za-z0-9-]{1,39}$/.test(actor) ? actor : undefined,
  };
}

/** How a workflow's caller is named in logs and refusals: `oidc:acme/hello@release.yml`. */
export function workflowCallerName(claims: WorkflowClaims): string {
  const file = claims.jobWorkflowRef.split("@")[0]!.split("/").pop() ?? "workflow";
  return `oidc:${claims.repository}@${file}`;
}

export interface WorkflowRequest {
  readonly service: string;
  /** The tag the call names (a create), or the tag of the release it acts on. */
  readonly tag?: string;
}

/**
 * Whether a workflow with these claims may act on a service (and, for a call on a release, on
 * that tag); returns the policy that allows it. Pure: throws a 403 whose one line says which
 * claim did not match. The policies given may be any (those of the token's repository, say).
 */
export function authorizeWorkflow(
  claims: WorkflowClaims,
  policies: readonly OidcPolicy[],
  request: WorkflowRequest,
): OidcPolicy {
  const refuse = (message: string, hint?: string) =>
    new UsageError("forbidden", `oidc: ${message}`, hint ? { hint } : {});
  const mine = policies.filter((p) => p.service === request.service);
  if (mine.length === 0) {
    throw refuse(
      `no workflow is allowed for the service ${request.service}`,
      `allow one: relctl oidc allow ${request.service} --repository-id … --owner-id … --workflow …`,
    );
  }
  const byRepository = mine.filter((p) => p.repositoryId === claims.repositoryId);
  if (byRepository.length === 0) {
    throw refuse(
      `the repository ${claims.repository} (id ${claims.repositoryId}) is not allowed for the service ${request.service}`,
    );
  }
  const byOwner = byRepository.filter((p) => p.ownerId === claims.repositoryOwnerId);
  if (byOwner.length === 0) {
    throw refuse(
      `the owner ${claims.repositoryOwner} (id ${claims.repositoryOwnerId}) is not the owner allowed for the service ${request.service}`,
    );
  }
  const policy = byOwner.find((p) => workflowMatches(p.workflow, claims.jobWorkflowRef));
  if (!policy) {
    throw refuse(`the workflow ${claims.jobWorkflowRef} is not allowed for the service ${request.service}`);
  }
  if (request.tag !== undefined && claims.ref !== `refs/tags/${request.tag}`) {
    throw refuse(
      `the job ran on ${claims.ref}, not on refs/tags/${request.tag}: a workflow acts only on the release of its own tag`,
    );
  }
  return policy;
}

/** The services a workflow with these claims may read (listing releases without naming one). */
export function workflowServices(claims: WorkflowClaims, policies: readonly OidcPolicy[]): string[] {
  return [
    ...new Set(
      policies
        .filter(
          (p) =>
            p.repositoryId === claims.repositoryId &&
            p.ownerId === claims.repositoryOwnerId &&
            workflowMatches(p.workflow, claims.jobWorkflowRef),
        )
        .map((p) => p.service),
    ),
  ];
}
