import { runDeploy, UsageError } from "@relctl/core";
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
  "No approvals service is configured (api-url), and this environment's gate says approvals: false: relctl deployed without asking anyone. Release history and one-click rollbacks need the approvals service.";

/**
 * `production`: deploys an approved release (manual_test_passed) to production; an unhealthy
 * deploy rolls back by itself. The approvals service dispatches it with `release_id` and `tag`.
 */
export async function runProductionCommand(session: Session): Promise<CommandResult> {
  const { inputs } = session;
  const config = await session.serviceConfig();
  const service = config.service;
  const environment = inputs.environment;
  const gated = config.environments[environment]?.role === "gated";
  let tag = inputs.tag!;
  let remote: RemoteRelease | undefined;
  if (gated && !session.api) {
    throw new UsageError(
      "approvals_unavailable",
      `api-url: ${environment} needs an approved release (environments.${environment}.gate), and without the approvals service the action cannot check the approvals`,
      {
        hint: `configure api-url and api-token, or declare environments.${environment}.gate.approvals: false to rely on GitHub's environment protection`,
      },
    );
  }

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
  } else {
    session.notices.push(WITHOUT_SERVICE_PRODUCTION_NOTICE);
  }
  // The job's copy of the release, with the decisions the service holds: the gate checks them here too.
  const local = remote
    ? session.releases.adopt({
        id: remote.id,
        service,
        tag,
        status: remote.status,
        ...(remote.initiatedBy ? { initiatedBy: remote.initiatedBy } : {}),
        approvals: remote.approvals.flatMap((a) =>
          a.approvedBy.map((user) => ({ role: a.role, user, decision: "approve" as const })),
        ),
      })
    : undefined;
  if (remote && local) session.mirror!.link(local.id, remote.id, remote.status);

  const history = await session.readHistory(service);
  await session.importHistory(service, history);
  const deps = session.runbookDeps();
  const outcome = await runPart(session, `Deploy ${tag} to ${environment}`, () =>
    runDeploy(deps, { config, environment, tag, actor: session.actor }),
  );
  const active = await session.runs.activeDeployment(service, environment);
  const state = releaseState(session, local?.id, outcome.release?.status);
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
      ["Environment", `${environment} (${hostsOf(session, config)})`],
      ["Previous tag", outcome.previousTag ?? "none"],
    ],
  });
}
