import type { ServiceConfig } from "../config/load.js";
import { admitDeploy } from "../domain/gates.js";
import { validateTag } from "../domain/names.js";
import type { Actor } from "../domain/release.js";
import { UsageError } from "../errors.js";
import { requireEnvironment } from "../runbook/plan.js";
import { runDeploy } from "./deploy.js";
import { planRehearsalRun, runRehearsal } from "./rehearse.js";
import type { RunbookDeps, RunOutcome } from "./run-scope.js";

export interface ReleaseToStageInput {
  readonly config: ServiceConfig;
  readonly tag: string;
  readonly actor: Actor;
  /** The stage environment; default: the config's (`stage:`, or the environment named stage). */
  readonly environment?: string;
  /** Wraps each part (the CLI prints a line; the action opens a log group per part). */
  readonly part?: (
    part: "deploy" | "rehearse",
    environment: string,
    run: () => Promise<RunOutcome>,
  ) => Promise<RunOutcome>;
}

export interface ReleaseToStageOutcome {
  readonly environment: string;
  readonly deployed: RunOutcome;
  /** Absent when the stage deploy did not succeed. */
  readonly rehearsed?: RunOutcome;
  /** The part that ended the release's stage run. */
  readonly last: RunOutcome;
}

/** The stage environment of a config, or a usage error saying how to name one. */
export function stageEnvironmentOf(config: ServiceConfig, explicit?: string): string {
  const name = explicit ?? config.stage;
  if (!name) {
    throw new UsageError(
      "no_stage",
      `${config.file ?? "relctl.yml"}: stage: no stage environment (none is named stage)`,
      { hint: "name it with `stage: <environment>` in relctl.yml" },
    );
  }
  const env = requireEnvironment(config, name);
  if (env.role !== "stage") {
    throw new UsageError(
      "not_stage",
      `stage: ${name} is not the stage environment (${config.stage ? `the stage is ${config.stage}` : "relctl.yml names none"}); it needs approvals`,
      { hint: `name it the stage with \`stage: ${name}\` in relctl.yml` },
    );
  }
  return name;
}

/**
 * The stage part of a release, the same through every door (CLI `relctl release`, the action's
 * `stage`): create the release, deploy the tag to stage, rehearse its rollback there → the release
 * waits for approvals in manual_testing. Everything that can refuse — the release's status, the
 * tag in the repository, the rehearsal target on the stage hosts — is checked before the first
 * change.
 */
export async function releaseToStage(
  deps: RunbookDeps,
  input: ReleaseToStageInput,
): Promise<ReleaseToStageOutcome> {
  const { config, actor } = input;
  const tag = validateTag(input.tag);
  const environment = stageEnvironmentOf(config, input.environment);
  const env = requireEnvironment(config, environment);
  const release = await deps.releases.findRelease(config.service, tag);
  admitDeploy({ config, env, tag, release, approvals: [], passedAfter: true });
  const rehearsal = await planRehearsalRun(
    deps,
    { config, environment, tag, actor },
    { requireDeployed: false },
  );
  const part = input.part ?? ((_part, _env, run) => run());
  const deployed = await part("deploy", environment, () =>
    runDeploy(deps, { config, environment, tag, actor, extraChecks: rehearsal.check }),
  );
  if (deployed.status !== "succeeded") return { environment, deployed, last: deployed };
  const rehearsed = await part("rehearse", environment, () =>
    runRehearsal(deps, { config, environment, tag, actor }),
  );
  return { environment, deployed, rehearsed, last: rehearsed };
}
