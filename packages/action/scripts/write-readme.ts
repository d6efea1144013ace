// Regenerates the inputs and outputs tables of packages/action/README.md from action.yml.
//   pnpm --filter @relctl/action run generate
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeActionTables } from "./readme-tables.js";

const dir = join(import.meta.dirname, "..");
const readmePath = join(dir, "README.md");
const next = writeActionTables(
  readFileSync(readmePath, "utf8"),
  readFileSync(join(dir, "action.yml"), "utf8"),
);
writeFileSync(readmePath, next);
