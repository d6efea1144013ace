// Writes packages/cli/oclif.manifest.json after the build (scripts/build.mjs runs it): every
// command's id, summary, flags and arguments, read from dist/commands/. With it oclif answers --help
// and finds a command without importing every command module; a run imports only the command it
// runs. Built, not committed.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Plugin } from "@oclif/core";

const root = join(import.meta.dirname, "..");
const plugin = new Plugin({
  root,
  type: "core",
  isRoot: true,
  ignoreManifest: true,
  errorOnManifestCreate: true,
  respectNoCacheDefault: true,
});
await plugin.load();
writeFileSync(join(root, "oclif.manifest.json"), `${JSON.stringify(plugin.manifest)}\n`);
