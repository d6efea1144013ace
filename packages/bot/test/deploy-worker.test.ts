import type { Actor } from "@relctl/core";
import { githubBadGateway, secondaryRateLimit } from "@relctl/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness, waitFor } from "./support/harness.js";

const lead: Actor = { user: "lee", channel: "telegram" };

describe("the deploy worker and GitHub's answers", () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RELCTL_RETRY_BASE_MS: "50" } });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function requestDeploy(tag: string, service = "auth"): Promise<number> {
    const { store, deploys } = h.service.deps;
    const { release } = await store.createRelease({ service, tag }, { user: "ci", channel: "api" });
    await h.db.db.sql.begin((tx) => deploys.requestDeploy(tx, { releaseId: release.id, service }, lead));
    return release.id;
  }

  const state = async (id: number) =>
    (await h.db.db.sql`SELECT state, attempts, last_error FROM deploy_requests WHERE release_id = ${id}`)[0]!;

  it("retries a 502 and a 429 from GitHub, then dispatches once", async () => {
    let failures = [502, 429];
    h.github.script = () => failures.shift();
    const id = await requestDeploy("v1.0.0");
    await waitFor(async () => (await state(id)).state === "done", 10_000, "the deploy to start");
    expect(h.github.dispatches.map((d) => d.status)).toEqual([502, 429, 204]);
    expect(await state(id)).toMatchObject({ attempts: 3 });
    failures = [];
  });

  it("sits out GitHub's secondary rate limit in the process: one claim, one workflow started, its run linked", async () => {
    const answers = [secondaryRateLimit(1)];
    h.github.script = () => answers.shift();
    const before = h.github.dispatches.length;
    const id = await requestDeploy("v1.1.0");
    await waitFor(async () => (await state(id)).state === "done", 15_000, "the deploy to start");
    expect(h.github.dispatches.slice(before).map((d) => d.status)).toEqual([429, 204]);
    expect(await state(id)).toMatchObject({ attempts: 1 });
    const [done] = await h.db.db
      .sql`SELECT after FROM audit_events WHERE release_id = ${id} AND action = 'deploy.done'`;
    expect(done!.after).toMatchObject({ run_url: h.github.runs.at(-1)!.html_url });
  });

  it("a 502 on the dispatch is not repeated in the process: the request waits for the worker's next try", async () => {
    const answers = [githubBadGateway()];
    h.github.script = () => answers.shift();
    const before = h.github.dispatches.length;
    const id = await requestDeploy("v1.2.0");
    await waitFor(async () => (await state(id)).state === "done", 15_000, "the deploy to start");
    expect(h.github.dispatches.slice(before).map((d) => d.status)).toEqual([502, 204]);
    expect(await state(id)).toMatchObject({ attempts: 2 });
  });

  it("gives up on a 404 at once and tells the chat why, without the token", async () => {
    h.github.script = (call) => (call.repo === "ghost" ? 404 : undefined);
    const before = h.github.dispatches.length;
    const id = await requestDeploy("v1.0.0", "ghost");
    await waitFor(async () => (await state(id)).state === "failed", 10_000, "the failure");
    expect(h.github.dispatches.length - before).toBe(1);
    const row = await state(id);
    expect(row.last_error).toBe(
      "GitHub: workflow_dispatch of production.yml on acme/ghost failed: 404 Server Error",
    );
    await outboxDrained(h);
    const notice = h.telegram
      .sent(RELEASE_CHAT)
      .map((s) => String(s.body.text))
      .find((t) => t.startsWith("⚠️"));
    expect(notice).toBe(
      "⚠️ Production deploy of ghost v1.0.0 could not start: GitHub: workflow_dispatch of production.yml on acme/ghost failed: 404 Server Error",
    );
    const audit = await h.db.db.sql`SELECT action FROM audit_events WHERE release_id = ${id} ORDER BY id`;
    expect(audit.map((a) => a.action)).toEqual(["release.create", "deploy.request", "deploy.failed"]);
  });

  it("does not dispatch at all for a service set to the runbook that has no production environment", async () => {
    await h.service.close();
    const again = await startHarness({ env: { RELCTL_DEPLOY_VIA: "github,pay=runbook" } });
    try {
      const { store, deploys } = again.service.deps;
      const { release } = await store.createRelease(
        { service: "pay", tag: "v1" },
        { user: "ci", channel: "api" },
      );
      await again.db.db.sql.begin((tx) =>
        deploys.requestDeploy(tx, { releaseId: release.id, service: "pay" }, lead),
      );
      await waitFor(
        async () => (await again.db.db.sql`SELECT state FROM deploy_requests`)[0]?.state === "failed",
        10_000,
        "the refusal",
      );
      expect(again.github.dispatches).toHaveLength(0);
      const [row] = await again.db.db.sql`SELECT last_error FROM deploy_requests`;
      expect(row!.last_error).toContain('env: "production" is not configured for pay');
    } finally {
      await again.close();
    }
  });
});
