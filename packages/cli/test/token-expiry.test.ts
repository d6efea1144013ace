import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

let t: TestDatabase;
let cwd: string;
beforeAll(async () => {
  t = await createPostgresTestDatabase("relctl_token_expiry");
  cwd = mkdtempSync(join(tmpdir(), "relctl-tokens-"));
});
afterAll(async () => {
  await t?.drop();
  rmSync(cwd, { recursive: true, force: true });
});
const cli = (...args: string[]) => runCli(args, { DATABASE_URL: t.url!, RELCTL_USER: "admin" }, cwd);

it("tokens expire after 90 days unless --expires says otherwise; a bad lifetime is one line naming the flag", async () => {
  const bad = await cli("tokens", "create", "ci", "--service", "auth", "--expires", "10y");
  expect(bad.code).toBe(2);
  expect(bad.stderr.trim()).toMatch(
    /^relctl: expires: expected "never" or a lifetime from 1h to 5 years .* got "10y"$/,
  );
  expect(await t.db.sql`SELECT 1 FROM api_tokens`).toHaveLength(0);

  const day = 24 * 3600_000;
  const byDefault = await cli("tokens", "create", "ci", "--service", "auth", "--json");
  expect(byDefault.code, byDefault.stderr).toBe(0);
  const left = Date.parse(byDefault.json<{ token: { expires_at: string } }>().token.expires_at) - Date.now();
  expect(left).toBeGreaterThan(89.9 * day);
  expect(left).toBeLessThan(90.1 * day);

  const never = await cli("tokens", "create", "alertmanager", "--alerts", "--expires", "never", "--json");
  expect(never.json<{ token: { expires_at: string | null } }>().token.expires_at).toBeNull();
  const list = await cli("tokens", "list");
  expect(list.stdout).toMatch(/^ci .* expires \d{4}-/m);
});
