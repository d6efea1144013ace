// Builds one workspace package with esbuild.
// Every package resolves its dependencies at run time (workspace packages through their built
// dist/), except the action, which ships as self-contained files bundled from source (its main
// and post steps, each one file that runs on Node 20.18 and newer; the runner runs them on Node 24).
// The CLI is split: one file per command (dist/commands/<topic>/<name>.js, where oclif finds them)
// and shared chunks, so a run imports only the command it runs.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, readdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const name = process.argv[2];
const pkgDir = join(root, "packages", name);
// `--outdir <dir>` builds somewhere else than the package's dist/ (the action's release packing).
const outIndex = process.argv.indexOf("--outdir");
const outdir = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(pkgDir, "dist");

/** The .ts files under a folder of the package being built. */
const tsFilesUnder = (dir) =>
  readdirSync(join(pkgDir, dir), { recursive: true })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f))
    .sort();

const entries = {
  core: ["src/index.ts"],
  get cli() {
    return ["src/index.ts", ...tsFilesUnder("src/commands"), ...tsFilesUnder("src/hooks")];
  },
  bot: ["src/index.ts", "src/main.ts"],
  action: ["src/main.ts", "src/post.ts"],
};

// Pure-JavaScript libraries every command loads through core, bundled into core's one file: the
// ESM loader pays per module, and these ship as a hundred-odd modules each (pnpm bench:startup).
// @opentelemetry/api keeps one state per process whichever copy registers it (a global symbol).
const bundledInCore = new Set(["yaml", "zod", "@opentelemetry/api"]);
const packageOf = (specifier) =>
  specifier
    .split("/")
    .slice(0, specifier.startsWith("@") ? 2 : 1)
    .join("/");

// zod's namespace of error-message locales is re-exported whole; relctl's messages are its own
// and zod's are English: the other 40-odd locales (a third of zod's size) stay out of core's file.
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({
      contents: 'export { default as en } from "./en.js";',
      loader: "js",
    }));
  },
};

const externalThirdParty = {
  name: "external-third-party",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (name === "core" && bundledInCore.has(packageOf(args.path))) return undefined;
      return { path: args.path, external: true };
    });
  },
};

// ssh2 loads optional native addons (its crypto binding, cpu-features) inside try/catch and falls
// back to JavaScript without them; in the self-contained bundle they are modules that throw.
const nativeAddonsAbsent = {
  name: "native-addons-absent",
  setup(b) {
    b.onResolve({ filter: /\.node$|^cpu-features$/ }, (args) => ({ path: args.path, namespace: "absent" }));
    b.onLoad({ filter: /.*/, namespace: "absent" }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not bundled`)});`,
      loader: "js",
    }));
  },
};

rmSync(outdir, { recursive: true, force: true });
const selfContained = name === "action";
const split = name === "cli";
await build({
  absWorkingDir: pkgDir,
  entryPoints: entries[name].filter((e) => existsSync(join(pkgDir, e))),
  outdir,
  bundle: true,
  ...(split ? { splitting: true, outbase: "src", chunkNames: "chunks/[name]-[hash]" } : {}),
  platform: "node",
  format: "esm",
  target: "node20.18",
  conditions: ["source"],
  sourcemap: true,
  logLevel: "warning",
  plugins: selfContained
    ? [nativeAddonsAbsent]
    : name === "core"
      ? [externalThirdParty, zodEnglishOnly]
      : [externalThirdParty],
  // The action keeps its state in memory and never opens the embedded database.
  external: selfContained ? ["@electric-sql/pglite", "@electric-sql/pglite-socket"] : [],
  banner: selfContained
    ? {
        js: [
          "import { createRequire as __cr } from 'node:module';",
          "import { dirname as __dn } from 'node:path';",
          "import { fileURLToPath as __fu } from 'node:url';",
          "const require = __cr(import.meta.url);",
          "const __filename = __fu(import.meta.url);",
          "const __dirname = __dn(__filename);",
        ].join(" "),
      }
    : name === "core"
      ? { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
      : {},
});

// `relctl init` writes the example workflows; they travel with the CLI's build.
if (name === "cli") {
  cpSync(join(root, "examples", "workflows"), join(outdir, "templates", "workflows"), {
    recursive: true,
    filter: (src) => !src.endsWith(".md"),
  });
}

// The bot's texts (Fluent files, read at run time) travel with its build: dist/locales.
if (name === "bot") cpSync(join(pkgDir, "locales"), join(outdir, "locales"), { recursive: true });

// The CLI's oclif.manifest.json lists the commands just built (see its writer).
if (name === "cli" && outIndex < 0) {
  execFileSync(process.execPath, [join(pkgDir, "scripts", "write-oclif-manifest.mjs")], { stdio: "inherit" });
}
