import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";

/**
 * The built bot (dist/, what relctl-bot and `relctl serve` run) carries its translations: the
 * build copies locales/*.ftl to dist/locales, and the bundle loads them when it is imported (it
 * throws when it finds none), from any working directory. Run after `pnpm run build`.
 */
const BOT = join(import.meta.dirname, "..");

it("the build ships the Fluent files next to the bundle, and the bundle loads them", () => {
  for (const locale of ["en", "ru"]) {
    expect(readFileSync(join(BOT, "dist", "locales", `${locale}.ftl`), "utf8"), locale).toBe(
      readFileSync(join(BOT, "locales", `${locale}.ftl`), "utf8"),
    );
  }
  const cwd = mkdtempSync(join(tmpdir(), "relctl-locales-"));
  try {
    const run = spawnSync(
      process.execPath,
      ["--input-type=module", "-e", `await import(${JSON.stringify(join(BOT, "dist", "index.js"))});`],
      { cwd, encoding: "utf8", timeout: 60_000 },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
