import { type Actor, DEFAULT_APPROVAL_POLICY, type ReleaseStore } from "@relctl/core";

const ci: Actor = { user: "ci", channel: "api" };
const runner: Actor = { user: "deployer", channel: "system" };

/** A release taken through stage and the three approvals to `deployed`, as the pipeline would. */
export async function seedDeployed(store: ReleaseStore, service: string, tag: string): Promise<number> {
  const { release } = await store.createRelease({ service, tag }, ci);
  for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const) {
    await store.transition(release.id, s, "runbook", ci);
  }
  for (const [role, user] of [
    ["qa", "seed-qa"],
    ["devops", "seed-devops"],
    ["lead", "seed-lead"],
  ] as const) {
    await store.decide(release.id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user,
      channel: "cli",
    });
  }
  await store.transition(release.id, "deploying", "runbook", runner);
  await store.transition(release.id, "deployed", "runbook", runner);
  return release.id;
}

/** A deployed release rolled back to `toTag`: it ends rollback_done and is bad from then on. */
export async function seedRolledBack(store: ReleaseStore, service: string, tag: string, toTag: string) {
  const id = await seedDeployed(store, service, tag);
  await store.transition(id, "production_rollback", "runbook", runner, { rollbackToTag: toTag });
  await store.transition(id, "rollback_done", "runbook", runner);
  return id;
}
