import type { EmulatedMessage } from "@relctl/testkit";
import { expect } from "vitest";
import { type Harness, outboxDrained, RELEASE_CHAT, waitFor } from "./harness.js";

/** Telegram ids of the flow tests' members (STRANGER is none). */
export const TEAM = {
  QA: 101,
  DEVOPS: 102,
  LEAD: 103,
  INITIATOR: 104,
  ADMIN_ONLY: 105,
  STRANGER: 999,
} as const;
const { QA, DEVOPS, LEAD, INITIATOR, ADMIN_ONLY } = TEAM;

/** The flow tests' members: one per approving role, a QA who initiates releases, and an admin. */
const MEMBERS = [
  [QA, "quinn", ["qa"]],
  [DEVOPS, "dora", ["devops"]],
  [LEAD, "lee", ["lead"]],
  [INITIATOR, "octo", ["qa"], "OctoCat"],
  [ADMIN_ONLY, "ada", ["admin"]],
] as const;

/** Adds the team as members; returns each one's Telegram id and name. */
export async function addTeam(h: Harness): Promise<{ id: number; name: string }[]> {
  for (const [id, name, roles, github] of MEMBERS) await h.addMember(id, name, [...roles], github);
  return MEMBERS.map(([id, name]) => ({ id, name }));
}

/** Waits for the message in a chat whose text is `text`. */
export function messageIn(h: Harness, chatId: number, text: string): Promise<EmulatedMessage> {
  return waitFor(() => h.telegram.chatMessages(chatId).find((m) => m.text === text), 15_000, `"${text}"`);
}

/** The card of `service tag` in a chat, as the Telegram emulator holds it now. */
export function cardOf(
  h: Harness,
  service: string,
  tag: string,
  chatId = RELEASE_CHAT,
): EmulatedMessage | undefined {
  return h.telegram.chatMessages(chatId).find((m) => m.text.startsWith(`${service} ${tag} — #`));
}

/**
 * A release created and moved to manual_testing as a workflow would (POST, then PATCH with the
 * service token); returns once the release chat's card shows manual_testing.
 */
export async function toManualTesting(
  h: Harness,
  service: string,
  tag: string,
  create: Record<string, unknown> = {},
): Promise<number> {
  const created = await h.api("POST", "/release", { service, tag, ...create });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const id = created.body.release_id as number;
  for (const status of ["stage_building", "stage_test_rollback", "manual_testing"]) {
    const r = await h.api("PATCH", "/release", { release_id: id, status });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
  }
  await outboxDrained(h);
  await waitFor(
    () => cardOf(h, service, tag)?.text.includes("Status: manual testing"),
    15_000,
    "the card in manual_testing",
  );
  return id;
}

/**
 * What a refused attempt must leave alone: the release row, its approvals, its audit events (but
 * the refusal's own `telegram.refused` record) and the number of deploy requests of every release.
 */
export async function footprint(h: Harness, id: number) {
  const sql = h.db.db.sql;
  const [row] = await sql`SELECT * FROM releases WHERE id = ${id}`;
  const approvals = await sql`SELECT * FROM approvals WHERE release_id = ${id} ORDER BY id`;
  const audit = await sql`SELECT id, action, actor FROM audit_events
    WHERE release_id = ${id} AND action <> 'telegram.refused' ORDER BY id`;
  const [requests] = await sql`SELECT count(*)::int AS n FROM deploy_requests`;
  return {
    row: { ...row },
    approvals: approvals.map((a) => ({ ...a })),
    audit: audit.map((e) => ({ ...e })),
    deployRequests: requests!.n as number,
  };
}

/** The refused presses audited for a release (`null`: presses that named no release), in order. */
export async function refusals(h: Harness, id: number | null) {
  const rows = await h.db.db.sql`SELECT actor, after FROM audit_events WHERE action = 'telegram.refused'
    AND release_id IS NOT DISTINCT FROM ${id} ORDER BY id`;
  return rows.map((r) => ({ actor: r.actor as string, code: (r.after as { code: string }).code }));
}
