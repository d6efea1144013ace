// Writes packages/core/relctl.schema.json from the config schema (run: pnpm generate).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildConfigJsonSchema } from "../src/config/schema.js";

const file = join(import.meta.dirname, "..", "relctl.schema.json");
writeFileSync(file, `${JSON.stringify(buildConfigJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
