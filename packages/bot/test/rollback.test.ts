import { ReleaseStore } from "@relctl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, startHarness, waitFor } from "./support/harness.js";
import { InMemoryDeployer } from "./support/in-memory-deployer.js";
import { seedDeployed, seedRolledBack } from "./support/seed-releases.js";

const LEAD = 201;
const QA = 202;

describe("one-click rollback from the card (runbook deployer)", () => {
  let h: Harness;
  let deployer: InMemoryDeployer;
  let current: number;

  beforeAll(async () => {
    h = await startHarness({
      env: { RELCTL_DEPLOY_VIA: "github,auth=runbook" },
      runbookDeployer: (db) => {
        deployer = new InMemoryDeployer(new ReleaseStore(db.db.sql));
        return deployer;
      },
    });
    await h.addMember(LEAD, "lee", ["lead"]);
    await h.addMember(QA, "quinn", ["qa"]);
    const store = h.service.deps.store;
    await seedDeployed(store, "auth", "v1.1.9");
    await seedRolledBack(store, "auth", "v1.2.0", "v1.1.9");
    await seedDeployed(store, "auth", "v1.2.1");
    await seedDeployed(store, "auth", "v1.2.2");
    current = await seedDeployed(store, "auth", "v1.2.3");
    await outboxDrained(h);
  });
  afterAll(async () => {
    await h?.close();
  });

  const card = () => h.telegram.chatMessages(RELEASE_CHAT).find((m) => m.text.startsWith("auth v1.2.3 — #"))!;

  it("versions on the card → confirm → the runbook rolls back, and the card follows it to rollback_done", async () => {
    expect(card().text).toContain("Status: deployed");
    await h.press(
      LEAD,
      RELEASE_CHAT,
      card().messageId,
      h.telegram.button(RELEASE_CHAT, card().messageId, /Rollback/),
    );
    // The card's own keyboard becomes the menu of versions; the press is answered with the question.
    const picker = card();
    const labels = () => picker.buttons.map((r) => r[0]!.text);
    await waitFor(() => labels().includes("v1.2.2"), 15_000, "the versions on the card");
    expect(h.telegram.answers().at(-1)!.body).toMatchObject({
      text: "Roll back auth from v1.2.3 to which version?",
    });
    // Only versions still restorable: never the current one, never v1.2.0 (it was rolled back: bad).
    expect(labels()).toEqual(["v1.2.2", "v1.2.1", "v1.1.9", "« Back"]);
    expect(picker.text).toContain("Status: deployed");

    const pickOld = h.telegram.button(RELEASE_CHAT, picker.messageId, /^v1\.2\.1$/);
    await h.press(QA, RELEASE_CHAT, picker.messageId, pickOld);
    expect(h.telegram.answers().at(-1)!.body).toMatchObject({ show_alert: true });
    expect(String(h.telegram.answers().at(-1)!.body.text)).toContain(
      "rolling back needs one of the roles devops, lead, admin",
    );
    // In Russian, refusals included, with no English mixed in.
    await h.db.db.sql`UPDATE members SET locale = 'ru' WHERE telegram_id = ${QA}`;
    await h.press(QA, RELEASE_CHAT, picker.messageId, pickOld);
    expect(String(h.telegram.answers().at(-1)!.body.text)).toBe(
      "Отказано: откатывать могут только роли devops, lead и admin",
    );

    await h.press(LEAD, RELEASE_CHAT, picker.messageId, pickOld);
    await waitFor(() => labels()[0] === "Yes, roll back to v1.2.1", 15_000, "the confirmation");
    expect(labels()).toEqual(["Yes, roll back to v1.2.1", "« Back"]);
    expect(h.telegram.answers().at(-1)!.body).toMatchObject({
      text: "Roll back auth from v1.2.3 to v1.2.1?",
    });
    const yes = h.telegram.button(RELEASE_CHAT, picker.messageId, /Yes, roll back/);
    await h.press(LEAD, RELEASE_CHAT, picker.messageId, yes);
    // No message of its own: the card was the picker.
    expect(h.telegram.chatMessages(RELEASE_CHAT).some((m) => m.text.startsWith("Roll back"))).toBe(false);

    await waitFor(() => deployer.rollbacks.length === 1, 15_000, "the rollback runbook");
    expect(deployer.rollbacks[0]).toMatchObject({
      service: "auth",
      environment: "production",
      toTag: "v1.2.1",
      releaseId: current,
    });
    expect(deployer.rollbacks[0]!.actor.user).toBe("lee");
    await outboxDrained(h);
    await waitFor(() => card().text.includes("Status: rolled back"), 15_000, "the card at rollback_done");
    expect(card().text).toContain("Rolling back to v1.2.1");
    expect(card().text).toContain("→ rolling back");
    expect(card().buttons).toEqual([]);
    // The card tells it (who asked, when it was done); no message of its own: nobody has to act.
    await waitFor(
      () => card().text.includes("↩️ rollback to v1.2.1 done"),
      15_000,
      "the rollback on the card",
    );
    expect(card().text).toContain("↩️ rollback to v1.2.1 requested (lee)");
    expect(h.telegram.sent(RELEASE_CHAT).map((s) => s.body.text)).not.toContain(
      "↩️ auth: rolled back from v1.2.3",
    );

    // Pressing Yes again starts nothing: the release has moved on.
    await h.press(LEAD, RELEASE_CHAT, picker.messageId, yes);
    await new Promise((r) => setTimeout(r, 200));
    expect(deployer.rollbacks).toHaveLength(1);
    expect(h.github.dispatches).toHaveLength(0);
    // Production now runs v1.2.1; v1.2.3 is bad and never offered.
    expect((await deployer.restorableVersions("auth")).map((v) => v.tag)).toEqual(["v1.2.2", "v1.1.9"]);
  });
});
