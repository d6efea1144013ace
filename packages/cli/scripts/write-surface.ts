// Writes packages/cli/surface.json: the commands, arguments and flags users and workflows rely on.
// A test compares it with the code, so a change to the surface is always a visible decision.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildCliSurface } from "../src/surface.js";

const file = join(import.meta.dirname, "..", "surface.json");
writeFileSync(file, `${JSON.stringify(buildCliSurface(), null, 2)}\n`);
console.log(`wrote ${file}`);
