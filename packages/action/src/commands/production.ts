import { runDeploy, StateError, UsageError } from "@relctl/core";
import type { RemoteRelease } from "../approvals-client.js";
import type { Session } from "../session.js";
import {
  type CommandResult,
  deploymentStateOf,
  hostsOf,
  releaseState,
  runbookResult,
  runPart,
} from "./result.js";

export const WITHOUT_SERVICE_PRODUCTION_NOTICE =
  "No approvals service is configured (api-url): relctl did not check that QA, DevOps and the Team Lead approved this release. Protect the production environment with required reviewers, or configure the approvals service; release history and one-click rollbacks need it too.";

/**
 * `production`: deploys an approved release (manual_test_passed) to production; an unhealthy
 * deploy rolls back by itself. The approvals service dispatches it with `release_id` and `tag`.
 */
export async function runProductionCommand(session: Session): Promise<CommandResult> {
  const { inputs } = session;
  const config = await session.serviceConfig();
  const service = config.service;
  let tag = inputs.tag!;
  let remote: RemoteRelease | undefined;

  if (session.api) {
    remote = inputs.releaseId
      ? await session.api.getRelease(inputs.releaseId)
      : await session.api.findRelease(service, tag);
    if (!remote) {
      throw new UsageError("release_not_found", `the approvals service has no release ${service} ${tag}`, {
        hint: "a release reaches production through stage and approvals",
      });
    }
    if (remote.service && remote.service !== service) {
      throw new UsageError(
        "service_mismatch",
        `release-id: release #${remote.id} is of ${remote.service}, not ${service}`,
      );
    }
    if (inputs.tag && remote.tag !== inputs.tag) {
      throw new UsageError(
        "tag_mismatch",
        `${inputs.tagSource}: ${inputs.tag} is not the tag of release #${remote.id} (${remote.tag})`,
      );
    }
    tag = remote.tag;
    if (remote.status !== "manual_test_passed") {
      throw new StateError(
        "not_approved",
        `${service} ${tag} (release #${remote.id}) is ${remote.status}; production takes a release in manual_test_passed`,
        remote.status === "manual_testing" ? { hint: "it is waiting for approvals" } : {},
      );
    }
  } else {
    session.notices.push(WITHOUT_SERVICE_PRODUCTION_NOTICE);
  }
  const local = session.releases.adopt({
    service,
    tag,
    status: "manual_test_passed",
    ...(remote?.initiatedBy ? { initiatedBy: remote.initiatedBy } : {}),
  });
  if (remote) session.mirror!.link(local.id, remote.id, remote.status);

  const history = await session.readHistory(service);
  await session.importHistory(service, history);
  const deps = session.runbookDeps();
  const outcome = await runPart(session, `Deploy ${tag} to production`, () =>
    runDeploy(deps, { config, environment: "production", tag, actor: session.actor }),
  );
  const active = await session.runs.activeDeployment(service, "production");
  const state = releaseState(session, local.id, outcome.release?.status);
  await session.recordDeployment(
    {
      service,
      tag,
      kind: "deploy",
      from_tag: outcome.previousTag,
      schema_version: outcome.status === "succeeded" && active?.tag === tag ? active.schemaVersion : null,
      release_id: state.releaseId ?? null,
    },
    deploymentStateOf(outcome.status),
    outcome.message,
  );
  return runbookResult({
    title: `relctl production: ${service} ${tag}`,
    ok: outcome.status === "succeeded",
    outcome: outcome,
    state,
    facts: [
      ["Environment", `production (${hostsOf(session, config)})`],
      ["Previous tag", outcome.previousTag ?? "none"],
    ],
  });
}
