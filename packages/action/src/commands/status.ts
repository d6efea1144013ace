import { UsageError, validateService } from "@relctl/core";
import type { RemoteRelease } from "../approvals-client.js";
import { planDeploymentHistory } from "../deployment-history.js";
import { readConfigOutline } from "../service-config.js";
import { type Session, WITHOUT_SERVICE_NOTICE } from "../session.js";
import type { CommandResult } from "./result.js";

/** `status`: a release as the approvals service has it, and what each environment runs. Changes nothing. */
export async function runStatusCommand(session: Session): Promise<CommandResult> {
  const { inputs } = session;
  const outline = await readConfigOutline(inputs.configPath, session.context.workspace);
  const service = validateService(inputs.service ?? outline.service);
  if (inputs.service && inputs.service !== outline.service) {
    throw new UsageError(
      "service_mismatch",
      `service: "${inputs.service}" does not match ${outline.file} (service: ${outline.service})`,
    );
  }
  const facts: [string, string][] = [];
  let remote: RemoteRelease | undefined;
  if (session.api) {
    if (inputs.releaseId) remote = await session.api.getRelease(inputs.releaseId);
    else if (inputs.tag) remote = await session.api.findRelease(service, inputs.tag);
    if (remote) {
      facts.push(["Release", `#${remote.id} ${remote.service} ${remote.tag}: ${remote.status}`]);
      for (const a of remote.approvals) {
        facts.push([
          `Approval: ${a.role}`,
          `${a.state}${a.approvedBy.length ? ` (${a.approvedBy.join(", ")})` : ""}`,
        ]);
      }
    } else if (inputs.tag) {
      facts.push(["Release", `the approvals service has no release ${service} ${inputs.tag}`]);
    }
  } else {
    session.notices.push(WITHOUT_SERVICE_NOTICE);
  }
  if (session.deployments) {
    for (const environment of outline.environments) {
      const live = planDeploymentHistory(await session.deployments.history(environment, service)).at(-1);
      facts.push([
        `Live on ${environment}`,
        live ? `${live.tag} (schema ${live.schemaVersion ?? "-"})` : "nothing recorded",
      ]);
    }
  }
  const message = remote
    ? `${service} ${remote.tag} (release #${remote.id}) is ${remote.status}`
    : `${service}: ${facts.length ? "status" : "nothing to report"}`;
  return {
    ok: true,
    exitCode: 0,
    title: `relctl status: ${service}${remote ? ` ${remote.tag}` : inputs.tag ? ` ${inputs.tag}` : ""}`,
    message,
    facts,
    outputs: remote ? { releaseId: remote.id, status: remote.status, previousTag: remote.rollbackToTag } : {},
  };
}
