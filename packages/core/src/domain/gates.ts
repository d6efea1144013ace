import type { EnvironmentConfig, ServiceConfig } from "../config/load.js";
import { StateError } from "../errors.js";
import { type ApprovalPolicy, type ApprovalRecord, summarizeApprovals } from "./approvals.js";
import { type Release, startsNewAttempt } from "./release.js";
import type { DeployHold } from "./run.js";

/**
 * Gates per environment, not per name: an environment says whether it needs approvals and which
 * environment a release must have passed first (config/load.ts: `role`, `gate`). Pure.
 */

/** The environments that need approvals, in the order relctl.yml lists them. */
export function gatedEnvironments(config: ServiceConfig): EnvironmentConfig[] {
  return Object.values(config.environments).filter((e) => e.role === "gated");
}

/**
 * The environment a release's approvals are collected for: the first gated environment that comes
 * right after the stage, else the first gated one. Its policy decides when a release is approved,
 * and the completing approval requests the deploy there.
 */
export function primaryGate(config: ServiceConfig): EnvironmentConfig | undefined {
  const gated = gatedEnvironments(config);
  return gated.find((e) => e.gate.after !== null && e.gate.after === config.stage) ?? gated[0];
}

/** The approval policy of an environment (its own section over the root one), or of the primary gate. */
export function approvalPolicyFor(config: ServiceConfig, environment?: string): ApprovalPolicy {
  const env = environment ? config.environments[environment] : primaryGate(config);
  return env?.approvals ?? config.approvals;
}

/** What a deploy does to the release, decided before anything runs. */
export interface DeployAdmission {
  /** Create the release (stage: a new tag, or a new attempt of an ended one). */
  readonly create: boolean;
  /** The run moves the release's status (stage: initiated → stage_building; gated: manual_test_passed → deploying → …). */
  readonly moves: boolean;
  /** The release is `deploying` from a run whose holder stopped: this run takes it over and goes on. */
  readonly resume?: boolean;
}

/**
 * Whether a tag may be deployed to an environment now, and what the deploy does to its release.
 * Throws a StateError naming the rule that refuses it. `approvals` are the release's decisions;
 * `passedAfter` says whether the release ran in `env.gate.after` (when that is not the stage).
 */
export function admitDeploy(input: {
  readonly config: ServiceConfig;
  readonly env: EnvironmentConfig;
  readonly tag: string;
  readonly release: Release | undefined;
  readonly approvals: readonly ApprovalRecord[];
  readonly passedAfter: boolean;
  /** Deploys held after a rollback there, until someone acknowledges it. */
  readonly hold?: DeployHold | undefined;
  /** A lead's override of a freeze window, with why. */
  readonly override?: FreezeOverride | undefined;
  readonly now?: Date;
}): DeployAdmission {
  const { config, env, tag, release } = input;
  const name = `${config.service} ${tag}`;
  checkFreeze(env, input.override, input.now ?? new Date());
  if (env.role === "open") return { create: false, moves: false };
  if (env.role === "stage") return admitStage(name, release);
  // A gated environment: never without an approved release.
  const gate = `${env.name} needs an approved release (environments.${env.name}.gate)`;
  if (!release) {
    throw new StateError("not_approved", `${name} has no release; ${gate}`, {
      hint: config.stage
        ? `release it first: relctl release ${config.service} ${tag}`
        : "create the release and have it approved first",
    });
  }
  const id = `${name} (release ${release.id})`;
  if (input.hold && release.status !== "deploying") {
    throw new StateError(
      "deploys_held",
      `deploys of ${config.service} to ${env.name} are held since ${input.hold.createdAt.toISOString()}: ${input.hold.reason}`,
      {
        hint: `once the rollback is understood, acknowledge it: relctl ack ${config.service} --env ${env.name}`,
      },
    );
  }
  if (release.status === "manual_testing") {
    throw new StateError("not_approved", `${id} is waiting for approvals; ${gate}`, {
      hint: `see who must approve: relctl status ${release.id}`,
    });
  }
  // `deploying`: a run of it is under way (the deploy lock refuses a second one while its holder
  // lives) or its holder stopped, and this run resumes it.
  if (!["manual_test_passed", "deployed", "deploying"].includes(release.status)) {
    throw new StateError("not_approved", `${id} is ${release.status}; ${gate}`, {
      hint:
        release.status === "production_rollback"
          ? `its rollback did not finish: relctl abort ${config.service} --env ${env.name}`
          : `a ${release.status} release does not deploy; release the tag again: relctl release ${config.service} ${tag}`,
    });
  }
  const policy = env.approvals;
  if (!summarizeApprovals(policy, input.approvals).complete) {
    throw new StateError(
      "not_approved",
      `${id} lacks approvals that ${env.name} requires (${policy.roles.map((r) => r.role).join(", ")})`,
      { hint: `see who must approve: relctl status ${release.id}` },
    );
  }
  const after = env.gate.after;
  if (after !== null && after !== config.stage && !input.passedAfter) {
    throw new StateError("gate_after", `${id} has not run in ${after}; ${env.name} takes it after ${after}`, {
      hint: `deploy it to ${after} first: relctl deploy ${config.service} ${tag} --env ${after}`,
    });
  }
  if (release.status === "deploying") return { create: false, moves: true, resume: true };
  return { create: false, moves: release.status === "manual_test_passed" };
}

function admitStage(name: string, release: Release | undefined): DeployAdmission {
  if (!release || startsNewAttempt(release)) return { create: true, moves: true };
  if (release.status === "initiated") return { create: false, moves: true };
  // Deployed to stage before, its rehearsal not passed yet: deploy again, then rehearse.
  if (release.status === "stage_building") return { create: false, moves: false };
  const next =
    release.status === "manual_testing"
      ? "it waits for approvals"
      : release.status === "deployed"
        ? "it runs in production"
        : "a run of it is under way";
  throw new StateError(
    "release_in_progress",
    `${name} is already ${release.status} (release ${release.id}): ${next}; stage takes a new release`,
    { hint: `tag a new version to release again, or see: relctl status ${release.id}` },
  );
}

/** Who overrides a freeze window: the person, the roles they hold, and why. */
export interface FreezeOverride {
  readonly by: string;
  readonly roles: readonly string[];
  readonly reason: string;
}

/** Roles that may deploy during a freeze window. */
export const FREEZE_OVERRIDE_ROLES = ["lead", "admin"] as const;

/** The freeze window `now` falls in, if any. Pure. */
export function activeFreeze(env: EnvironmentConfig, now: Date) {
  return env.freeze.find((w) => w.from <= now && now < w.to);
}

function checkFreeze(env: EnvironmentConfig, override: FreezeOverride | undefined, now: Date): void {
  const window = activeFreeze(env, now);
  if (!window) return;
  const until = `${env.name} is frozen until ${window.to.toISOString()}: ${window.reason}`;
  if (!override) {
    throw new StateError("frozen", until, {
      hint: "a lead may deploy anyway: relctl deploy … --override-freeze <reason> (audited)",
    });
  }
  if (!FREEZE_OVERRIDE_ROLES.some((r) => override.roles.includes(r))) {
    throw new StateError(
      "override_not_allowed",
      `${until}; only a member with the role ${FREEZE_OVERRIDE_ROLES.join(" or ")} may override it, and ${override.by} holds ${override.roles.join(", ") || "no role"}`,
    );
  }
}
