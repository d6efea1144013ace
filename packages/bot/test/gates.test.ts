import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReleaseStore, TokenStore } from "@relctl/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN,
  type Harness,
  outboxDrained,
  RELEASE_CHAT,
  startHarness,
  waitFor,
} from "./support/harness.js";
import { InMemoryDeployer } from "./support/in-memory-deployer.js";
import {
  addTeam,
  cardOf,
  footprint,
  messageIn,
  refusals,
  TEAM,
  toManualTesting,
} from "./support/release-flow.js";
import { seedDeployed } from "./support/seed-releases.js";

const { QA, DEVOPS, LEAD, INITIATOR, ADMIN_ONLY, STRANGER } = TEAM;

const OTHER_CHAT = -3003;

/** An environment of relctl.yml on this machine. */
const env = (name: string, more = "") =>
  `  ${name}:\n    hosts: [{ address: local }]\n    path: ./${name}\n${more}`;

/**
 * Two relctl.yml files for the service auth: the gated environment is `production` in one and
 * `live` in the other (next to `preview`, which needs no approvals). The approvals are for the
 * gated environment whatever its name.
 */
const CONFIGS = [
  {
    gated: "production",
    yml: `service: auth\nenvironments:\n${env("stage")}${env("production")}`,
  },
  {
    gated: "live",
    yml: `service: auth\nenvironments:\n${env("stage")}${env("preview", "    gate: { approvals: false }\n")}${env("live")}`,
  },
];

describe.each(CONFIGS)("the approvals gate of $gated", ({ gated, yml }) => {
  let h: Harness;
  let deployer: InMemoryDeployer;
  let configDir: string;
  const memberToken: Record<number, string> = {};

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), "relctl-gates-"));
    writeFileSync(join(configDir, "relctl.yml"), yml);
    h = await startHarness({
      env: { RELCTL_CONFIG: join(configDir, "relctl.yml"), RELCTL_DEPLOY_VIA: "github,auth=runbook" },
      runbookDeployer: (db) => {
        deployer = new InMemoryDeployer(new ReleaseStore(db.db.sql));
        return deployer;
      },
    });
    const tokens = new TokenStore(h.db.db.sql);
    for (const { id, name } of await addTeam(h)) {
      memberToken[id] = (await tokens.createToken({ name: `member-${name}`, member: id }, ADMIN)).secret;
    }
  });
  afterAll(async () => {
    await h?.close();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  const release = (tag: string) => toManualTesting(h, "auth", tag, { initiated_by: "OctoCat" });
  const card = (tag: string, chatId = RELEASE_CHAT) => cardOf(h, "auth", tag, chatId);
  /** POST /release/:id/approve with the member's own token. */
  const decide = (member: number, id: number) =>
    h.api("POST", `/release/${id}/approve`, {}, { authorization: `Bearer ${memberToken[member]}` });
  const deployRequestsOf = async (id: number) =>
    (
      await h.db.db
        .sql`SELECT id, kind, environment FROM deploy_requests WHERE release_id = ${id} ORDER BY id`
    ).map((r) => ({ id: Number(r.id), kind: r.kind as string, environment: r.environment as string }));
  const statusOf = async (id: number) =>
    (await h.db.db.sql`SELECT status FROM releases WHERE id = ${id}`)[0]!.status as string;

  /** Nothing went out: no deploy started by the worker, no workflow dispatched. */
  function nothingDeployed() {
    expect(deployer.deploys).toEqual([]);
    expect(h.github.dispatches).toEqual([]);
  }

  it("a workflow's token cannot move a release to manual_test_passed, deploying or deployed (PATCH /release)", async () => {
    const id = await release("v1.0.0");
    const moves = [
      ["manual_test_passed", "move_not_allowed"],
      ["deploying", "illegal_transition"],
      ["deployed", "illegal_transition"],
    ] as const;
    const check = async () => {
      const before = await footprint(h, id);
      for (const [status, code] of moves) {
        const r = await h.api("PATCH", "/release", { release_id: id, status });
        expect(r.status, `${status}: ${JSON.stringify(r.body)}`).toBe(409);
        expect(r.body).toMatchObject({ error: { code, from: "manual_testing", to: status } });
      }
      expect(await footprint(h, id)).toEqual(before);
    };
    await check();
    // One approval short of the policy changes nothing: the table, not the progress, decides.
    expect((await decide(QA, id)).status).toBe(200);
    expect((await decide(DEVOPS, id)).status).toBe(200);
    await check();
    expect(await statusOf(id)).toBe("manual_testing");
    expect(await deployRequestsOf(id)).toEqual([]);
    nothingDeployed();
  });

  it("a service token cannot approve or reject (POST /release/:id/approve), nor can a member the policy refuses", async () => {
    const id = await release("v1.1.0");
    const before = await footprint(h, id);
    const auditBefore = await h.db.db.sql`SELECT id FROM audit_events WHERE release_id = ${id}`;
    for (const decision of ["approve", "reject"]) {
      const r = await h.api(
        "POST",
        `/release/${id}/${decision}`,
        decision === "reject" ? { reason: "no" } : {},
      );
      expect(r.status, JSON.stringify(r.body)).toBe(403);
      expect(r.body).toMatchObject({ error: { code: "forbidden" } });
    }
    const refused: [number, number, string][] = [
      [ADMIN_ONLY, 400, "missing_role"],
      [INITIATOR, 400, "self_approval"],
      [DEVOPS, 409, "not_your_turn"],
    ];
    for (const [member, status, code] of refused) {
      const r = await decide(member, id);
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      expect(r.body).toMatchObject({ error: { code } });
    }
    expect(await footprint(h, id)).toEqual(before);
    expect(await h.db.db.sql`SELECT id FROM audit_events WHERE release_id = ${id}`).toEqual(auditBefore);
    nothingDeployed();
  });

  it("refuses presses without the approvals: no role, self-approval, out of turn, a stranger, another chat, forged and stale buttons", async () => {
    const id = await release("v1.2.0");
    const c = card("v1.2.0")!;
    const approve = h.telegram.button(RELEASE_CHAT, c.messageId, /Approve/);
    const answersBefore = h.telegram.answers().length;
    const forgedBefore = (await refusals(h, null)).length;
    const before = await footprint(h, id);

    await h.press(ADMIN_ONLY, RELEASE_CHAT, c.messageId, approve);
    await h.press(INITIATOR, RELEASE_CHAT, c.messageId, approve);
    await h.press(DEVOPS, RELEASE_CHAT, c.messageId, approve);
    await h.press(STRANGER, RELEASE_CHAT, c.messageId, approve);
    await h.press(QA, OTHER_CHAT, c.messageId, approve);
    await h.press(QA, RELEASE_CHAT, c.messageId, "AAAAAAAAAAAAAAAA");
    await h.press(QA, RELEASE_CHAT, c.messageId, `approve:${id}:qa`);
    expect(await footprint(h, id)).toEqual(before);

    // QA approves; the button QA pressed was issued for the card before that approval: stale now.
    await h.press(QA, RELEASE_CHAT, c.messageId, approve);
    await waitFor(() => card("v1.2.0")?.text.includes("✅ QA Team — quinn"), 15_000, "QA on the card");
    await outboxDrained(h);
    const afterQa = await footprint(h, id);
    expect(afterQa.approvals).toHaveLength(1);
    await h.press(DEVOPS, RELEASE_CHAT, c.messageId, approve);
    expect(await footprint(h, id)).toEqual(afterQa);

    expect(await refusals(h, id)).toEqual([
      { actor: "ada", code: "missing_role" },
      { actor: "octo", code: "self_approval" },
      { actor: "dora", code: "not_your_turn" },
      { actor: `tg:${STRANGER}`, code: "not_a_member" },
      { actor: "quinn", code: "other_chat" },
      { actor: "dora", code: "stale_card" },
    ]);
    expect((await refusals(h, null)).slice(forgedBefore)).toEqual([
      { actor: "quinn", code: "forged_button" },
      { actor: "quinn", code: "forged_button" },
    ]);
    const answers = h.telegram.answers().slice(answersBefore);
    expect(answers).toHaveLength(9);
    expect(answers.filter((a) => a.body.show_alert === true)).toHaveLength(8);
    expect(await statusOf(id)).toBe("manual_testing");
    expect(await deployRequestsOf(id)).toEqual([]);
    nothingDeployed();
  });

  it(`completing the approvals with members' tokens requests exactly one deploy, to ${gated}`, async () => {
    const id = await release("v2.0.0");
    for (const member of [QA, DEVOPS]) {
      const r = await decide(member, id);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ status: "manual_testing", completed: false, deploy_request: null });
    }
    expect(await deployRequestsOf(id)).toEqual([]);
    const last = await decide(LEAD, id);
    expect(last.status, JSON.stringify(last.body)).toBe(200);
    expect(last.body).toMatchObject({
      status: "manual_test_passed",
      completed: true,
      deploy_request: { id: expect.any(Number), environment: gated },
    });
    const requests = await deployRequestsOf(id);
    expect(requests).toEqual([
      { id: (last.body.deploy_request as { id: number }).id, kind: "deploy", environment: gated },
    ]);

    // Deciding again requests nothing more.
    const again = await decide(LEAD, id);
    expect(again.status).toBe(409);
    expect(await deployRequestsOf(id)).toEqual(requests);

    await waitFor(async () => (await statusOf(id)) === "deployed", 15_000, "the deploy");
    expect(deployer.deploys.filter((d) => d.releaseId === id).map((d) => d.environment)).toEqual([gated]);
    const audit = await h.db.db.sql`SELECT actor, channel FROM audit_events
      WHERE release_id = ${id} AND action = 'release.approve' ORDER BY id`;
    expect(audit.map((e) => `${e.actor}/${e.channel}`)).toEqual(["quinn/api", "dora/api", "lee/api"]);
  });

  it(`completing the approvals with Telegram presses requests exactly one deploy, to ${gated}`, async () => {
    const id = await release("v2.1.0");
    let lastApprove = "";
    for (const [member, line] of [
      [QA, "✅ QA Team — quinn"],
      [DEVOPS, "✅ DevOps — dora"],
      [LEAD, "✅ Team Lead — lee"],
    ] as const) {
      const c = card("v2.1.0")!;
      lastApprove = h.telegram.button(RELEASE_CHAT, c.messageId, /Approve/);
      expect(await h.press(member, RELEASE_CHAT, c.messageId, lastApprove)).toBe(200);
      await waitFor(() => card("v2.1.0")?.text.includes(line), 15_000, line);
      await outboxDrained(h);
    }
    const requests = await deployRequestsOf(id);
    expect(requests).toEqual([{ id: expect.any(Number), kind: "deploy", environment: gated }]);
    await waitFor(async () => (await statusOf(id)) === "deployed", 15_000, "the deploy");

    // The completing button, pressed again, is refused and requests nothing.
    await h.press(LEAD, RELEASE_CHAT, card("v2.1.0")!.messageId, lastApprove);
    expect(await deployRequestsOf(id)).toEqual(requests);
    expect(deployer.deploys.filter((d) => d.releaseId === id).map((d) => d.environment)).toEqual([gated]);
    expect(h.github.dispatches).toEqual([]);
  });

  it("an older deployed card offers no rollback once a newer release is live, and its old buttons start none", async () => {
    const store = h.service.deps.store;
    await seedDeployed(store, "auth", "v2.9.0");
    const older = await seedDeployed(store, "auth", "v3.0.0");
    await outboxDrained(h);
    await waitFor(() => card("v3.0.0")?.text.includes("Status: deployed"), 15_000, "the deployed card");
    const olderCard = card("v3.0.0")!;

    // While v3.0.0 is live, its card offers a rollback: issue its Rollback, pick and confirm buttons.
    const rollback = h.telegram.button(RELEASE_CHAT, olderCard.messageId, /Rollback/);
    await h.press(LEAD, RELEASE_CHAT, olderCard.messageId, rollback);
    // The versions, then the confirmation, are the card's own keyboard.
    const picker = olderCard;
    await waitFor(() => picker.buttons.flat().some((b) => b.text === "v2.9.0"), 15_000, "the versions");
    const pick = h.telegram.button(RELEASE_CHAT, picker.messageId, /^v2\.9\.0$/);
    await h.press(LEAD, RELEASE_CHAT, picker.messageId, pick);
    await waitFor(
      () => picker.buttons[0]?.[0]?.text === "Yes, roll back to v2.9.0",
      15_000,
      "the confirmation",
    );
    const confirm = h.telegram.button(RELEASE_CHAT, picker.messageId, /Yes, roll back/);

    // v3.0.1 is approved and deployed: it is what the environment runs now.
    const newer = await release("v3.0.1");
    for (const member of [QA, DEVOPS, LEAD]) expect((await decide(member, newer)).status).toBe(200);
    await waitFor(async () => (await statusOf(newer)) === "deployed", 15_000, "the newer deploy");
    await outboxDrained(h);
    await waitFor(
      () =>
        card("v3.0.1")
          ?.buttons.flat()
          .some((b) => /Rollback/.test(b.text)),
      15_000,
      "the live card",
    );

    // Rendered now (opened from the menu), the older card has no Rollback; the live one has.
    await h.say(LEAD, LEAD, "/menu");
    const menu = await messageIn(h, LEAD, "relctl — choose a list");
    await h.press(LEAD, LEAD, menu.messageId, h.telegram.button(LEAD, menu.messageId, /Successful/));
    // The list replaces the menu in the same message.
    const list = await waitFor(
      () => (menu.text.startsWith("Successful releases (") ? menu : undefined),
      15_000,
      "the list in place of the menu",
    );
    for (const tag of ["v3.0.0", "v3.0.1"]) {
      await h.press(
        LEAD,
        LEAD,
        list.messageId,
        h.telegram.button(LEAD, list.messageId, new RegExp(`${tag.replaceAll(".", "\\.")} `)),
      );
    }
    await waitFor(() => card("v3.0.1", LEAD), 15_000, "the opened cards");
    expect(card("v3.0.0", LEAD)!.text).toContain("Status: deployed");
    expect(card("v3.0.0", LEAD)!.buttons).toEqual([]);
    expect(
      card("v3.0.1", LEAD)!
        .buttons.flat()
        .map((b) => b.text),
    ).toEqual(["↩️ Rollback"]);

    // The buttons issued while v3.0.0 was live are refused, and offer nothing.
    const before = await footprint(h, older);
    const callsBefore = h.telegram.calls.length;
    const answersBefore = h.telegram.answers().length;
    for (const data of [rollback, pick, confirm])
      await h.press(LEAD, RELEASE_CHAT, olderCard.messageId, data);
    const answers = h.telegram.answers().slice(answersBefore);
    expect(answers.map((a) => a.body.show_alert)).toEqual([true, true, true]);
    for (const a of answers) {
      expect(String(a.body.text)).toContain(`auth v3.0.0 no longer runs in ${gated}`);
    }
    expect((await refusals(h, older)).slice(-3)).toEqual([
      { actor: "lee", code: "not_live" },
      { actor: "lee", code: "not_live" },
      { actor: "lee", code: "not_live" },
    ]);
    const offered = h.telegram.calls
      .slice(callsBefore)
      .filter((c) => ["sendMessage", "editMessageText", "editMessageReplyMarkup"].includes(c.method));
    for (const call of offered) {
      expect(String(call.body.text)).not.toMatch(/^Roll back auth from v3\.0\.0/);
      expect(JSON.stringify(call.body.reply_markup ?? {})).not.toContain('"v3.0.0"');
    }
    // The refusal republished the older card: it no longer shows Rollback in the release chat.
    expect(card("v3.0.0")!.text).toContain("Status: deployed");
    expect(card("v3.0.0")!.buttons).toEqual([]);
    expect(await footprint(h, older)).toEqual(before);
    expect(deployer.rollbacks).toEqual([]);
    expect((await deployRequestsOf(older)).filter((r) => r.kind === "rollback")).toEqual([]);
  });
});
