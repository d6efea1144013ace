import {
  decideRelease,
  hashApiToken,
  parseStatus,
  type Release,
  ReleaseStore,
  summarizeApprovals,
  UsageError,
  validateReleaseId,
  validateService,
  validateTag,
  workflowReportFields,
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
import { claimIdempotencyKey, readIdempotencyKey, storeIdempotentResponse } from "./idempotency.js";
import { releaseJson, releaseViewJson } from "./release-json.js";
import { apiActor } from "./request-context.js";
import { inWriteTransaction } from "./write-transaction.js";

/**
 * Runs a create once more when a concurrent create took its attempt (its transaction rolled
 * back): the second run finds that release and answers with it, as createRelease does.
 */
async function againIfAttemptTaken<T>(req: FastifyRequest, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (!ReleaseStore.isAttemptTaken(err)) throw err;
    if (req.deadline) req.deadline.committing = false;
    return run();
  }
}

/** The workflows' API: thin translations between HTTP and the release store. */
export function registerReleaseRoutes(app: FastifyInstance, deps: AppDeps, auth: ApiAuth): void {
  const { store } = deps;

  /**
   * A write's request, parsed and checked. These routes check the token in their transaction; a
   * refused body is answered only once the token is known to be good, so a bad token is still
   * answered 401 before a bad body 400.
   */
  const parsed = async <T>(req: FastifyRequest, parse: () => T): Promise<T> => {
    try {
      return parse();
    } catch (err) {
      if (!req.oidc) await auth.authenticate(req.headers.authorization);
      throw err;
    }
  };

  /**
   * A workflow's ID token is used once, so a retry never sends the same bearer: there is nothing
   * to key an Idempotency-Key to. A create of a tag under way answers with that release anyway.
   */
  const noKeyWithIdToken = (req: FastifyRequest, key: string | undefined): void => {
    if (req.oidc && key !== undefined) {
      throw new UsageError(
        "invalid_idempotency_key",
        "Idempotency-Key: not taken with an OIDC ID token (each is used once); send none",
      );
    }
  };

  // POST and PATCH /release: one transaction each, in two round trips (see write-transaction.ts):
  // the token check, the Idempotency-Key's claim, the release's lock and the transaction's clock
  // go out with BEGIN; the change, its audit event and the key's answer go out with COMMIT. The
  // rules run in between (ReleaseStore.planCreate / planTransition), under the request's deadline.
  app.post("/release", { config: { commitGate: true, tokenInTransaction: true } }, async (req, reply) => {
    const { body, service, tag, key } = await parsed(req, () => {
      const body = parseRequest(createReleaseBody, req.body);
      return {
        body,
        service: validateService(body.service),
        tag: validateTag(body.tag),
        key: readIdempotencyKey(req.headers["idempotency-key"]),
      };
    });
    noKeyWithIdToken(req, key);
    const secret = req.oidc ? undefined : auth.secretOf(req.headers.authorization);
    const input = {
      service,
      tag,
      rollbackToTag: body.rollback_to_tag ?? null,
      githubRunId: body.github_run_id ?? null,
      githubActionLink: body.github_action_link ?? null,
      githubRef: body.github_ref ?? null,
    };
    const result = await againIfAttemptTaken(req, () =>
      inWriteTransaction(req, deps.sql, async (tx) => {
        const [token, claim, latest, clock] = await Promise.all([
          secret === undefined ? undefined : auth.readToken(tx.sql, secret),
          key === undefined || secret === undefined
            ? undefined
            : claimIdempotencyKey(tx.sql, hashApiToken(secret), key, req.body),
          store.lockLatestAttempt(tx.sql, service, tag),
          store.readClock(tx.sql, true),
        ]);
        if (token) req.apiToken = token;
        auth.requireCaller(req, service, tag);
        if (claim && !claim.claimed) return { status: claim.status, body: claim.body, replayed: true };
        const actor = apiActor(req, body.initiated_by);
        const { release, created } = store.planCreate(latest, input, actor, clock);
        const response = { status: created ? 201 : 200, body: { created, ...releaseJson(release) } };
        await tx.commit((sql) =>
          Promise.all([
            created ? store.writeCreated(sql, release, actor, latest) : undefined,
            key === undefined || !token ? undefined : storeIdempotentResponse(sql, token.id, key, response),
          ]),
        );
        return { ...response, replayed: false };
      }),
    );
    if (result.replayed) reply.header("idempotent-replayed", "true");
    return reply.code(result.status).send(result.body);
  });

  app.patch("/release", { config: { commitGate: true, tokenInTransaction: true } }, async (req, reply) => {
    const { body, releaseId, status, key } = await parsed(req, () => {
      const body = parseRequest(updateReleaseBody, req.body);
      return {
        body,
        releaseId: validateReleaseId(body.release_id),
        status: parseStatus(body.status),
        key: readIdempotencyKey(req.headers["idempotency-key"]),
      };
    });
    noKeyWithIdToken(req, key);
    const secret = req.oidc ? undefined : auth.secretOf(req.headers.authorization);
    // As updateReleaseStatus reads a workflow's report: only the fields it sent change.
    const fields = workflowReportFields({
      rollbackToTag: body.rollback_to_tag ?? undefined,
      githubRunId: body.github_run_id ?? undefined,
      githubActionLink: body.github_action_link ?? undefined,
    });
    const result = await inWriteTransaction(req, deps.sql, async (tx) => {
      const [token, claim, before, clock] = await Promise.all([
        secret === undefined ? undefined : auth.readToken(tx.sql, secret),
        key === undefined || secret === undefined
          ? undefined
          : claimIdempotencyKey(tx.sql, hashApiToken(secret), key, req.body, "PATCH /release"),
        store.lockRelease(tx.sql, releaseId),
        store.readClock(tx.sql, false),
      ]);
      if (token) req.apiToken = token;
      if (claim && !claim.claimed) return { status: claim.status, body: claim.body, replayed: true };
      if (!before) throw new UsageError("release_not_found", `release ${releaseId}: no such release`);
      // The caller's scope (a workflow's: on its own tag) and the move, checked as a workflow's
      // (transition table), then written.
      auth.requireCaller(req, before.service, before.tag);
      const actor = apiActor(req);
      const planned = store.planTransition(before, status, "workflow", fields, clock.now);
      // A rollback's progress settles the rollback request handed to the workflow: transitionLocked.
      const after =
        planned ?? (await store.transitionLocked(tx.sql, before, status, "workflow", actor, fields));
      const response = { status: 200, body: releaseJson(after) };
      await tx.commit((sql) =>
        Promise.all([
          planned ? store.writeTransition(sql, before, planned, actor) : undefined,
          key === undefined || !token ? undefined : storeIdempotentResponse(sql, token.id, key, response),
        ]),
      );
      return { ...response, replayed: false };
    });
    if (result.replayed) reply.header("idempotent-replayed", "true");
    return reply.code(result.status).send(result.body);
  });

  // A member's decision, with a token bound to that member (`relctl tokens create … --member`):
  // the same use-case and checks as a Telegram press. A workflow's service token cannot approve.
  for (const decision of ["approve", "reject"] as const) {
    app.post<{ Params: { id: string } }>(`/release/:id/${decision}`, async (req) => {
      const body = parseRequest(decisionBody, req.body);
      const id = validateReleaseId(req.params.id);
      const member = await auth.requireMember(req, deps.members);
      const result = await decideRelease(deps.decide, {
        releaseId: id,
        decision,
        member,
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
        ...(body.role !== undefined ? { role: body.role } : {}),
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
    auth.requireCaller(req, release.service, release.tag);
    const policy = await deps.policyFor(release.service);
    const approvals = await store.listApprovals(release.id);
    return releaseViewJson(release, summarizeApprovals(policy, approvals).roles, approvals);
  });

  app.get("/releases", async (req) => {
    const q = parseRequest(listReleasesQuery, req.query, "query");
    const limit = q.limit ?? 50;
    const allowed = auth.callerServices(req);
    const group = q.state ? { group: q.state } : {};
    let releases: Release[];
    if (q.service) {
      auth.requireCaller(req, validateService(q.service));
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
