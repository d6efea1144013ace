import type { Actor } from "@relctl/core";
import { describe, expect, it } from "vitest";
import {
  MemoryReleaseStore,
  MemoryRunStore,
  type StatusChange,
} from "../../src/adapters/memory/memory-stores.js";

const actor: Actor = { user: "octocat", channel: "action" };

describe("MemoryReleaseStore", () => {
  it("moves releases by the transition table and tells each move, in order", async () => {
    const heard: StatusChange[] = [];
    const store = new MemoryReleaseStore(async (c) => void heard.push(c));
    const { release } = await store.createRelease({ service: "hello", tag: "v1.0.0" }, actor);
    expect((await store.createRelease({ service: "hello", tag: "v1.0.0" }, actor)).created).toBe(false);
    await store.transition(release.id, "stage_building", "runbook", actor);
    await expect(store.transition(release.id, "deployed", "runbook", actor)).rejects.toThrow(
      "cannot move a release from stage_building to deployed",
    );
    const failed = await store.transition(release.id, "stage_building_failed", "runbook", actor);
    expect(failed.completedAt).not.toBeNull();
    expect(heard.map((c) => `${c.from}→${c.release.status}`)).toEqual([
      "initiated→stage_building",
      "stage_building→stage_building_failed",
    ]);
  });
});

describe("MemoryRunStore", () => {
  it("keeps one active deployment per environment and the newest history first", async () => {
    const runs = new MemoryRunStore();
    const target = { service: "hello", environment: "production" };
    for (const tag of ["v1", "v2"]) {
      const run = await runs.createRun({
        kind: "deploy",
        ...target,
        releaseId: null,
        tag,
        fromTag: null,
        actor,
      });
      await runs.recordDeployment({
        ...target,
        releaseId: null,
        tag,
        schemaVersion: tag,
        runId: run.id,
        previousState: "superseded",
      });
    }
    expect((await runs.activeDeployment("hello", "production"))?.tag).toBe("v2");
    expect((await runs.deploymentHistory("hello", "production")).map((d) => `${d.tag}:${d.state}`)).toEqual([
      "v2:active",
      "v1:superseded",
    ]);
    expect(await runs.deployedRunTags("hello", "production")).toEqual(["v2", "v1"]);
  });

  it("holds a deploy lock until it is released or its lease ends", async () => {
    const runs = new MemoryRunStore();
    const input = { service: "hello", environment: "stage", owner: "a", reason: "deploy", leaseMs: 60_000 };
    const first = await runs.tryAcquireLock(input);
    expect(first.acquired).toBe(true);
    expect((await runs.tryAcquireLock({ ...input, owner: "b" })).acquired).toBe(false);
    if (first.acquired) await runs.releaseLock(first.lock);
    expect((await runs.tryAcquireLock({ ...input, owner: "b", leaseMs: -1 })).acquired).toBe(true);
    expect((await runs.tryAcquireLock({ ...input, owner: "c" })).acquired).toBe(true);
  });
});
