import {
  decideRelease,
  parseStatus,
  type Release,
  ReleaseStore,
  summarizeApprovals,
  tokenServices,
  UsageError,
  updateReleaseStatus,
  validateReleaseId,
  validateService,
  validateTag,
} from "@relctl/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { AppDeps } from "../app-deps.js";
import type { ApiAuth } from "./api-auth.js";
import {
  createReleaseBody,
  decisionBody,
  listReleasesQuery,
  parseRequest,
  updateReleaseBody,
} from "./body-schemas.js";
import { inRequestTransaction } from "./deadline.js";
import { withIdempotencyKey } from "./idempotency.js";
import { releaseJson, releaseViewJson } from "./release-json.js";
import { apiActor } from "./request-context.js";

/** The workflows' API: thin translations between HTTP and the release store. */
export function registerReleaseRoutes(app: FastifyInstance, deps: AppDeps, auth: ApiAuth): void {
  const { store } = deps;

  const keyOf = (req: FastifyRequest) => {
    const key = req.headers["idempotency-key"];
    return Array.isArray(key) ? key[0] : key;
  };

  // POST and PATCH /release: one transaction each, with the Idempotency-Key's row, under the
  // request's deadline (see deadline.ts); the core stores run in it through `new ReleaseStore(tx)`.
  app.post("/release", { config: { commitGate: true } }, async (req, reply) => {
    const body = parseRequest(createReleaseBody, req.body);
    const service = validateService(body.service);
    const tag = validateTag(body.tag);
    auth.requireService(req.apiToken!, service);
    const result = await inRequestTransaction(req, deps.sql, (tx) =>
      withIdempotencyKey(tx, req.apiToken!.id, keyOf(req), req.body, async () => {
        const { release, created } = await new ReleaseStore(tx).createRelease(
          {
            service,
            tag,
            rollbackToTag: body.rollback_to_tag ?? null,
            githubRunId: body.github_run_id ?? null,
            githubActionLink: body.github_action_link ?? null,
            githubRef: body.github_ref ?? null,
          },
          apiActor(req, body.initiated_by),
        );
        return { status: created ? 201 : 200, body: { created, ...releaseJson(release) } };
      }),
    );
    if (result.replayed) reply.header("idempotent-replayed", "true");
    return reply.code(result.status).send(result.body);
  });

  app.patch("/release", { config: { commitGate: true } }, async (req, reply) => {
    const body = parseRequest(updateReleaseBody, req.body);
    const releaseId = validateReleaseId(body.release_id);
    const status = parseStatus(body.status);
    const result = await inRequestTransaction(req, deps.sql, (tx) =>
      withIdempotencyKey(
        tx,
        req.apiToken!.id,
        keyOf(req),
        req.body,
        async () => {
          // Lock, check the token's scope and the move (as a workflow's), update, audit.
          const release = await updateReleaseStatus(
            new ReleaseStore(tx),
            {
              releaseId,
              status,
              rollbackToTag: body.rollback_to_tag ?? undefined,
              githubRunId: body.github_run_id ?? undefined,
              githubActionLink: body.github_action_link ?? undefined,
              authorize: (before) => auth.requireService(req.apiToken!, before.service),
            },
            apiActor(req),
          );
          return { status: 200, body: releaseJson(release) };
        },
        "PATCH /release",
      ),
    );
    if (result.replayed) reply.header("idempotent-replayed", "true");
    return reply.code(result.status).send(result.body);
  });

  // A member's decision, with a token bound to that member (`relctl tokens create … --member`):
  // the same use-case and checks as a Telegram press. A workflow's service token cannot approve.
  for (const decision of ["approve", "reject"] as const) {
    app.post<{ Params: { id: string } }>(`/release/:id/${decision}`, async (req) => {
      const body = parseRequest(decisionBody, req.body);
      const id = validateReleaseId(req.params.id);
      const member = await auth.requireMember(req.apiToken!, deps.members);
      const result = await decideRelease(deps.decide, {
        releaseId: id,
        decision,
        member,
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        actor: { user: member.name, channel: "api", traceId: req.traceId },
      });
      return {
        ...releaseViewJson(
          result.release,
          summarizeApprovals(result.policy, await store.listApprovals(id)).roles,
          await store.listApprovals(id),
        ),
        completed: result.completed,
        deploy_request: result.deployRequest
          ? { id: result.deployRequest.id, environment: result.deployRequest.environment }
          : null,
        next: result.next,
      };
    });
  }

  app.get<{ Params: { id: string } }>("/release/:id", async (req) => {
    const release = await store.requireRelease(validateReleaseId(req.params.id));
    auth.requireService(req.apiToken!, release.service);
    const policy = await deps.policyFor(release.service);
    const approvals = await store.listApprovals(release.id);
    return releaseViewJson(release, summarizeApprovals(policy, approvals).roles, approvals);
  });

  app.get("/releases", async (req) => {
    const q = parseRequest(listReleasesQuery, req.query, "query");
    const limit = q.limit ?? 50;
    const allowed = tokenServices(req.apiToken!.scopes);
    const group = q.state ? { group: q.state } : {};
    let releases: Release[];
    if (q.service) {
      auth.requireService(req.apiToken!, validateService(q.service));
      releases = await store.listReleases({ service: q.service, limit, ...group });
    } else if (allowed === "all") {
      releases = await store.listReleases({ limit, ...group });
    } else {
      if (allowed.length === 0) throw new UsageError("forbidden", "the token is not allowed for any service");
      const lists = await Promise.all(
        allowed.map((service) => store.listReleases({ service, limit, ...group })),
      );
      releases = lists
        .flat()
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.id - a.id)
        .slice(0, limit);
    }
    return { releases: releases.map(releaseJson) };
  });
}
