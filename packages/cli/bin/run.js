#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { arch, platform, release } from "node:os";

// `relctl --version` (or -v) prints oclif's version line, `<name>/<version> <platform>-<arch>
// node-<version>`, from package.json alone: loading oclif would cost more than the rest of the
// answer. oclif still answers when it would say something else: with init or finally hooks, or
// on WSL, which it names as its own platform.
const pjson = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const versionFlags = ["--version", ...(pjson.oclif.additionalVersionFlags ?? [])];

const hooks = pjson.oclif.hooks ?? {};
if (versionFlags.includes(process.argv[2]) && !hooks.init && !hooks.finally && !mayBeWsl()) {
  const cpu = arch() === "ia32" ? "x86" : arch();
  process.stdout.write(`${pjson.name}/${pjson.version} ${platform()}-${cpu} node-${process.version}\n`);
} else {
  const { execute } = await import("@oclif/core/execute");
  await execute({ dir: import.meta.url });
}

function mayBeWsl() {
  if (process.platform !== "linux") return false;
  if (release().toLowerCase().includes("microsoft")) return true;
  try {
    return readFileSync("/proc/version", "utf8").toLowerCase().includes("microsoft");
  } catch {
    return false;
  }
}
