import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

/** Text typed by people is data: it is bounded, and it never drives the terminal that shows it. */
let t: TestDatabase;
let env: Record<string, string>;
let cwd: string;
beforeAll(async () => {
  t = await createPostgresTestDatabase("relctl_text_data");
  env = { DATABASE_URL: t.url!, RELCTL_USER: "dev" };
  cwd = mkdtempSync(join(tmpdir(), "relctl-text-"));
});
afterAll(async () => {
  await t?.drop();
  rmSync(cwd, { recursive: true, force: true });
});
const cli = (...args: string[]) => runCli(args, env, cwd);
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw control characters is the point.
const RAW_CONTROL = /[\u0007\u001b\r]/;

async function inManualTesting(tag: string): Promise<number> {
  const created = await cli("release", "create", "auth", tag, "--json");
  const id = created.json<{ release: { id: number } }>().release.id;
  for (const s of ["stage_building", "stage_test_rollback", "manual_testing"])
    expect((await cli("release", "update", String(id), "--status", s, "--as", "ci")).code).toBe(0);
  return id;
}

it("refuses a reason with control characters or over 1000 characters in one line, writing nothing", async () => {
  const id = await inManualTesting("v1.0.0");
  const before = await t.db.sql`SELECT count(*)::int AS n FROM audit_events`;
  for (const [reason, why] of [
    [
      "\u001b]0;pwned\u0007\u001b[2J",
      /^relctl: reason: control characters are not allowed \(U\+001B at position 1\)$/,
    ],
    ["x".repeat(100_000), /^relctl: reason: at most 1000 characters \(got 100000\)$/],
  ] as const) {
    const r = await cli("reject", String(id), "--role", "qa", "--as", "quinn", "--reason", reason);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(why);
    expect(r.stderr).not.toMatch(RAW_CONTROL);
  }
  const after = await t.db.sql`SELECT count(*)::int AS n FROM audit_events`;
  expect(after[0]!.n).toBe(before[0]!.n);
  const [row] = await t.db.sql`SELECT status FROM releases WHERE id = ${id}`;
  expect(row!.status).toBe("manual_testing");
  // A hostile role is echoed escaped, not obeyed.
  const role = await cli("approve", String(id), "--role", "\u001b[2Jlead", "--as", "quinn");
  expect(role.code).not.toBe(0);
  expect(role.stderr).not.toMatch(RAW_CONTROL);
  expect(role.stderr).toContain("\\u001b[2Jlead");
});

it("shows a stored reason's control characters escaped in every later status", async () => {
  const id = await inManualTesting("v1.0.1");
  const r = await cli("reject", String(id), "--role", "qa", "--as", "quinn", "--reason", "login broken");
  expect(r.code, r.stderr).toBe(0);
  // Text written before these checks existed, or by another client, is shown escaped.
  await t.db.sql`UPDATE approvals SET reason = ${"broken\u001b]0;owned\u0007\rOK"} WHERE release_id = ${id}`;
  const status = await cli("status", String(id));
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).not.toMatch(RAW_CONTROL);
  expect(status.stdout).toContain("broken\\u001b]0;owned\\u0007\\u000dOK");
});
