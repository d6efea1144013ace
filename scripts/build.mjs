// Builds one workspace package with esbuild.
// Every package resolves its dependencies at run time (workspace packages through their built
// dist/), except the action, which ships as one self-contained file bundled from source.
import { existsSync, rmSync } from "node:fs";
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
      return { path: args.path, external: true };
    });
  },
};

rmSync(join(pkgDir, "dist"), { recursive: true, force: true });
const selfContained = name === "action";
await build({
  absWorkingDir: pkgDir,
  entryPoints: entries[name].filter((e) => existsSync(join(pkgDir, e))),
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
