import { type Release, runRollback, StateError, UsageError } from "@relctl/core";
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
 * `rollback`: takes the environment back to `tag` (migrations down first, then the code, then
 * the health check). What ran before, and with which schema, comes from GitHub Deployments.
 */
export async function runRollbackCommand(session: Session): Promise<CommandResult> {
  const { inputs } = session;
  const config = await session.serviceConfig();
  const service = config.service;
  const environment = inputs.environment;
  const target = inputs.tag!;
  const history = await session.readHistory(service);
  const current = history.at(-1);
  if (!current) {
    throw new UsageError(
      "no_history",
      `relctl has no record of what ${environment} runs: GitHub Deployments of ${environment} hold no deployment of ${service} by relctl`,
      { hint: "a rollback needs the schema version each tag ran with; deploy with this action first" },
    );
  }

  const releaseIds = new Map<string, number>();
  let local: Release | undefined;
  if (session.api) {
    const remote = inputs.releaseId
      ? await session.api.getRelease(inputs.releaseId)
      : await session.api.findRelease(service, current.tag);
    if (remote && remote.tag !== current.tag) {
      throw new StateError(
        "not_current",
        `release #${remote.id} is ${service} ${remote.tag}, but ${environment} runs ${current.tag} (GitHub Deployments)`,
        { hint: "pass the release-id of the release the environment runs" },
      );
    }
    if (remote?.status === "deployed") {
      local = session.releases.adopt({ id: remote.id, service, tag: remote.tag, status: "deployed" });
      session.mirror!.link(local.id, remote.id, remote.status);
      releaseIds.set(remote.tag, local.id);
    } else if (remote) {
      session.io.info(
        `approvals service: release #${remote.id} is ${remote.status}; its status stays as it is`,
      );
    }
  } else {
    session.notices.push(WITHOUT_SERVICE_NOTICE);
  }
  await session.importHistory(service, history, releaseIds);

  const outcome = await runPart(session, `Rollback of ${environment} to ${target}`, () =>
    runRollback(session.runbookDeps(), { config, environment, toTag: target, actor: session.actor }),
  );
  const active = await session.runs.activeDeployment(service, environment);
  const state = releaseState(session, local?.id, outcome.release?.status);
  await session.recordDeployment(
    {
      service,
      tag: target,
      kind: "rollback",
      from_tag: outcome.previousTag,
      schema_version: outcome.status === "succeeded" && active?.tag === target ? active.schemaVersion : null,
      release_id: state.releaseId ?? null,
    },
    deploymentStateOf(outcome.status),
    outcome.message,
  );
  return runbookResult({
    title: `relctl rollback: ${service} ${environment} to ${target}`,
    ok: outcome.status === "succeeded",
    outcome: outcome,
    state,
    facts: [
      ["Environment", `${environment} (${hostsOf(session, config)})`],
      ["Rolled back from", outcome.previousTag ?? "-"],
    ],
  });
}
