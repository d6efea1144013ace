// Builds one workspace package with esbuild.
// Workspace packages (@relctl/*) are bundled from source; third-party packages stay external,
// except for the action, which ships as one self-contained file.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const name = process.argv[2];
const pkgDir = join(root, "packages", name);

const entries = {
  core: ["src/index.ts"],
  cli: ["src/index.ts"],
  bot: ["src/index.ts", "src/main.ts"],
  action: ["src/main.ts"],
};

const externalThirdParty = {
  name: "external-third-party",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("@relctl/")) return undefined;
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      return { path: args.path, external: true };
    });
  },
};

rmSync(join(pkgDir, "dist"), { recursive: true, force: true });
const selfContained = name === "action";
await build({
  absWorkingDir: pkgDir,
  entryPoints: entries[name],
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20.18",
  conditions: ["source"],
  sourcemap: true,
  logLevel: "warning",
  plugins: selfContained ? [] : [externalThirdParty],
  banner: selfContained
    ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
    : {},
});
