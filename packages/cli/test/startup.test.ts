import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

// What the built CLI imports to start: module hooks preloaded through NODE_OPTIONS write every
// module it loads (ESM and CommonJS) to a file.
describe("relctl start-up loads only what the command uses", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "relctl-startup-"));
    writeFileSync(
      join(dir, "hooks.mjs"),
      `import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.RELCTL_TEST_MODULES, url + "\\n");
  return next(url, context);
}
`,
    );
    writeFileSync(
      join(dir, "record.mjs"),
      `import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
register("./hooks.mjs", import.meta.url);
const load = Module._load;
Module._load = function (request, parent, ...rest) {
  try { appendFileSync(process.env.RELCTL_TEST_MODULES, Module._resolveFilename(request, parent) + "\\n"); } catch {}
  return load.call(this, request, parent, ...rest);
};
`,
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let n = 0;
  async function modulesOf(args: string[], env: Record<string, string> = {}) {
    const file = join(dir, `modules-${n++}`);
    writeFileSync(file, "");
    const r = await runCli(
      args,
      { ...env, RELCTL_TEST_MODULES: file, NODE_OPTIONS: `--import=${join(dir, "record.mjs")}` },
      dir,
    );
    return { ...r, modules: readFileSync(file, "utf8").split("\n").filter(Boolean) };
  }
  const loaded = (modules: string[], part: RegExp) => modules.filter((m) => part.test(m));

  const OCLIF = /[/\\]@oclif[/\\]core[/\\]/;
  const CONFIG_AND_DOMAIN = /[/\\](yaml|zod|@relctl[/\\]core|packages[/\\]core)[/\\]/;
  const OTEL_SDK = /[/\\]@opentelemetry[/\\]sdk-/;
  const COMMAND_MODULES = /[/\\]packages[/\\]cli[/\\]dist[/\\]/;

  it("--version and -v read package.json only", async () => {
    for (const flag of ["--version", "-v"]) {
      const r = await modulesOf([flag]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^@relctl\/cli\/\d+\.\d+\.\d+\S* \S+-\S+ node-v\d+/);
      expect(loaded(r.modules, OCLIF)).toEqual([]);
      expect(loaded(r.modules, COMMAND_MODULES)).toEqual([]);
    }
  });

  it("--help, a topic's and a command's help load no command, config schema or YAML parser", async () => {
    for (const args of [["--help"], ["members"], ["deploy", "--help"], ["release", "create", "--help"]]) {
      const r = await modulesOf(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/USAGE/);
      expect(loaded(r.modules, OCLIF).length, "the recorder sees oclif").toBeGreaterThan(0);
      expect(loaded(r.modules, COMMAND_MODULES), args.join(" ")).toEqual([]);
      expect(loaded(r.modules, CONFIG_AND_DOMAIN), args.join(" ")).toEqual([]);
      expect(loaded(r.modules, OTEL_SDK), args.join(" ")).toEqual([]);
    }
  });

  it("a command loads its own module, not the others; the OpenTelemetry SDK only with an exporter", async () => {
    const plain = await modulesOf(["status"]);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(/Missing 1 required arg: target/);
    const commands = loaded(plain.modules, /[/\\]dist[/\\]commands[/\\]/);
    expect(commands.map((m) => m.replace(/.*[/\\]dist[/\\]commands[/\\]/, ""))).toEqual(["status.js"]);
    expect(loaded(plain.modules, OTEL_SDK)).toEqual([]);

    // Export configured: the SDK starts (its exporters off, so the run does not wait to flush to a
    // collector nobody runs), then the parse error ends the run.
    const traced = await modulesOf(["status"], {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
      OTEL_TRACES_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    });
    expect(traced.code).toBe(2);
    expect(loaded(traced.modules, OTEL_SDK).length).toBeGreaterThan(0);
  });
});
