import { memberJson, requestMemberRollback, validateService, validateTag } from "@relctl/core";
import type { FastifyInstance } from "fastify";
import type { AppDeps } from "../app-deps.js";
import { rollbackPorts } from "../deploy/rollback-ports.js";
import type { ApiAuth } from "./api-auth.js";
import { parseRequest, rollbackBody } from "./body-schemas.js";

/**
 * What a person does through the API with a personal token (`relctl tokens create … --member`,
 * saved by `relctl login`): who they are, and a rollback with the same checks as the Telegram
 * button (core's requestMemberRollback). Approvals are POST /release/:id/approve|reject.
 */
export function registerMemberRoutes(app: FastifyInstance, deps: AppDeps, auth: ApiAuth): void {
  app.get("/me", async (req) => {
    const member = await auth.requireMember(req, deps.members);
    const token = req.apiToken!;
    return {
      member: memberJson(member),
      token: { name: token.name, expires_at: token.expiresAt?.toISOString() ?? null },
    };
  });

  app.post("/rollback", async (req, reply) => {
    const body = parseRequest(rollbackBody, req.body);
    const service = validateService(body.service);
    const toTag = validateTag(body.to_tag, "to_tag");
    const member = await auth.requireMember(req, deps.members);
    const environment = body.environment ?? (await deps.environmentFor(service));
    const request = await requestMemberRollback(rollbackPorts(deps, service), {
      member,
      service,
      environment,
      toTag,
      actor: { user: member.name, channel: "api", traceId: req.traceId },
    });
    return reply.code(202).send({
      request: {
        id: request.id,
        kind: request.kind,
        service: request.service,
        environment: request.environment,
        to_tag: request.toTag,
        release_id: request.releaseId,
        requested_by: request.requestedBy,
        state: request.state,
      },
      next: `the approvals service rolls ${service} back to ${toTag} on ${environment} (request ${request.id}); relctl status ${request.releaseId} follows it`,
    });
  });
}
