import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { buildCliSurface } from "../src/surface.js";

it("the committed CLI surface matches the commands (run `pnpm generate` after changing it)", () => {
  const committed = JSON.parse(readFileSync(join(import.meta.dirname, "..", "surface.json"), "utf8"));
  expect(buildCliSurface()).toEqual(committed);
});
