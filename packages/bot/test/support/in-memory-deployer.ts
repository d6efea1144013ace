import { type Actor, type ReleaseStore, readProductionHistory } from "@relctl/core";
import type { Deployer, RollbackInput } from "../../src/index.js";

/**
 * A deployer for tests. It records each call and acts like the runbook would on the release's
 * statuses: a deploy goes deploying → deployed; a rollback goes production_rollback → rollback_done.
 */
export class InMemoryDeployer implements Deployer {
  readonly deploys: { releaseId: number; environment: string; actor: Actor }[] = [];
  readonly rollbacks: RollbackInput[] = [];

  constructor(private readonly store: ReleaseStore) {}

  async deploy(releaseId: number, environment: string, actor: Actor): Promise<void> {
    this.deploys.push({ releaseId, environment, actor });
    await this.store.transition(releaseId, "deploying", "runbook", { user: "runbook", channel: "system" });
    await this.store.transition(releaseId, "deployed", "runbook", { user: "runbook", channel: "system" });
  }

  async rollback(input: RollbackInput): Promise<"ran"> {
    this.rollbacks.push(input);
    const runner = { user: "runbook", channel: "system" } as const;
    await this.store.transition(input.releaseId!, "production_rollback", "runbook", runner, {
      rollbackToTag: input.toTag,
    });
    await this.store.transition(input.releaseId!, "rollback_done", "runbook", runner);
    return "ran";
  }

  async restorableVersions(service: string) {
    return [...(await readProductionHistory(this.store.sql, service)).restorable];
  }

  async liveReleaseId(service: string) {
    return (await readProductionHistory(this.store.sql, service)).current?.id;
  }
}
