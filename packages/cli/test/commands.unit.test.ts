import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { COMMANDS } from "../src/index.js";

const dir = join(import.meta.dirname, "..", "src", "commands");

it("every command file is in COMMANDS under the id oclif gives its path, and nothing else is", async () => {
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .sort();
  const ids = files.map((f) => f.replace(/\.ts$/, "").replaceAll("\\", "/").replaceAll("/", ":"));
  expect(ids).toEqual(Object.keys(COMMANDS).sort());
  for (const [i, file] of files.entries()) {
    const module = await import(pathToFileURL(join(dir, file)).href);
    expect(module.default, file).toBe(COMMANDS[ids[i] as keyof typeof COMMANDS]);
  }
});
