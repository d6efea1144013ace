import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeployRequestStore, ReleaseStore } from "@relctl/core";
import { createPostgresTestDatabase, type TestDatabase } from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

/** `relctl status` shows a rollback under way (from the chat, another relctl, a workflow). */
let db: TestDatabase;
beforeAll(async () => {
  db = await createPostgresTestDatabase("relctl_status_rollback");
});
afterAll(async () => {
  await db?.drop();
});

it("names the open rollback of the release, who asked for it and when", async () => {
  const store = new ReleaseStore(db.db.sql);
  const { release } = await store.createRelease(
    { service: "auth", tag: "v3" },
    { user: "ci", channel: "api" },
  );
  await db.db.sql`UPDATE releases SET status = 'deployed' WHERE id = ${release.id}`;
  const requests = new DeployRequestStore(db.db.sql);
  await requests.requestRollback(
    { releaseId: release.id, service: "auth", toTag: "v2" },
    { user: "lee", channel: "telegram" },
  );
  const claimed = await requests.claim("w");
  await requests.finish(claimed!, "w", { state: "dispatched" });

  const env = { DATABASE_URL: db.url! };
  const cwd = mkdtempSync(join(tmpdir(), "relctl-status-"));
  const json = await runCli(["status", String(release.id), "--json"], env, cwd);
  expect(json.code, json.stderr).toBe(0);
  expect(json.json()).toMatchObject({
    open_rollback: { to_tag: "v2", state: "dispatched", requested_by: "lee" },
  });
  const text = await runCli(["status", String(release.id)], env, cwd);
  expect(text.stdout).toMatch(/rollback: to v2 under way \(dispatched\), requested by lee at \d{4}-/);
});
