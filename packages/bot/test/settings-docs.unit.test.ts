import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

/** Every variable relctl serve reads is in the README's settings table: the docs never drift. */
it("documents every environment variable the settings read", () => {
  const dir = join(import.meta.dirname, "..");
  const source = readFileSync(join(dir, "src", "settings.ts"), "utf8");
  const readme = readFileSync(join(dir, "README.md"), "utf8");
  const table = readme.split("\n").filter((l) => l.startsWith("| `"));
  const names = [...new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))];
  expect(names.length).toBeGreaterThan(20);
  const missing = names.filter((n) => !table.some((row) => row.includes(`\`${n}\``)));
  expect(missing, "add them to the settings table in packages/bot/README.md").toEqual([]);
});
