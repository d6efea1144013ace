import { releaseToStage, StateError } from "@relctl/core";
import { type Session, WITHOUT_SERVICE_NOTICE } from "../session.js";
import {
  type CommandResult,
  deploymentStateOf,
  hostsOf,
  releaseState,
  runbookResult,
  runPart,
} from "./result.js";

/**
 * `stage`: creates the release (in the approvals service when there is one), deploys the tag to
 * stage and rehearses its rollback there; a release that passes waits in manual_testing.
 */
export async function runStageCommand(session: Session): Promise<CommandResult> {
  const { inputs, context } = session;
  const config = await session.serviceConfig();
  const service = config.service;
  const tag = inputs.tag!;
  const environment = inputs.environment;
  const history = await session.readHistory(service);
  await session.importHistory(service, history);

  if (session.api) {
    const remote = await session.api.createRelease({
      service,
      tag,
      ...(context.actor ? { initiatedBy: context.actor } : {}),
      ...(context.runId ? { githubRunId: context.runId } : {}),
      ...(context.runUrl ? { githubActionLink: context.runUrl } : {}),
      ...(context.ref ? { githubRef: context.ref } : {}),
      ...(context.repository && context.runId
        ? {
            idempotencyKey: `relctl-action/${context.repository.owner}/${context.repository.repo}/${context.runId}/${service}/${tag}`,
          }
        : {}),
    });
    session.io.info(`approvals service: release #${remote.id} ${service} ${tag} is ${remote.status}`);
    if (remote.status !== "initiated") {
      throw new StateError(
        "release_not_new",
        `${service} ${tag} is already ${remote.status} in the approvals service (release #${remote.id}); a stage run starts a new release`,
        { hint: "tag a new version to release again" },
      );
    }
    const local = session.releases.adopt({
      id: remote.id,
      service,
      tag,
      status: remote.status,
      ...(remote.initiatedBy ? { initiatedBy: remote.initiatedBy } : {}),
    });
    session.mirror!.link(local.id, remote.id, remote.status);
  } else {
    session.notices.push(WITHOUT_SERVICE_NOTICE);
  }

  const { deployed, last } = await releaseToStage(session.runbookDeps(), {
    config,
    environment,
    tag,
    actor: session.actor,
    part: (part, env, run) =>
      runPart(session, part === "deploy" ? `Deploy ${tag} to ${env}` : `Rollback rehearsal on ${env}`, run),
  });
  const ok = last.status === "succeeded";

  const active = await session.runs.activeDeployment(service, environment);
  const live = deployed.status === "succeeded" && active?.tag === tag;
  const state = releaseState(session, deployed.release?.id, last.release?.status);
  await session.recordDeployment(
    {
      service,
      tag,
      kind: "deploy",
      from_tag: deployed.previousTag,
      schema_version: live ? active.schemaVersion : null,
      release_id: state.releaseId ?? null,
    },
    deploymentStateOf(last.status),
    last.message,
  );
  return runbookResult({
    title: `relctl stage: ${service} ${tag}`,
    ok: ok,
    outcome: { ...last, previousTag: deployed.previousTag },
    state,
    facts: [
      ["Environment", `${environment} (${hostsOf(session, config)})`],
      ["Previous tag", deployed.previousTag ?? "none"],
    ],
  });
}
