import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseConfig, type ServiceConfig, UsageError } from "@relctl/core";
import { isMap, isSeq, parseDocument } from "yaml";

type Env = NodeJS.ProcessEnv;

async function readConfigText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch {
    throw new UsageError("config_missing", `config: cannot read ${file}`, {
      hint: "check out the repository first (actions/checkout) and pass the path of relctl.yml as config",
    });
  }
}

/**
 * Loads relctl.yml reading only the named environment's variables: a job gets the secrets of its
 * own environment (GitHub environment secrets), so the `${VAR}` values of the others are neither
 * needed nor read. The other environments stay (without their `env` and passwords), so the stage
 * and the gates mean what they mean everywhere.
 */
export async function loadEnvironmentConfig(
  path: string,
  cwd: string,
  environment: string,
  env: Env,
): Promise<ServiceConfig> {
  const file = resolve(cwd, path);
  const text = await readConfigText(file);
  const doc = parseDocument(text, { prettyErrors: false });
  const environments = doc.get("environments");
  if (doc.errors.length === 0 && isMap(environments)) {
    for (const item of environments.items) {
      const key = (item.key as { value?: unknown } | null)?.value ?? item.key;
      if (key === environment || !isMap(item.value)) continue;
      item.value.delete("env");
      const hosts = item.value.get("hosts");
      if (isSeq(hosts))
        for (const host of hosts.items) {
          if (!isMap(host)) continue;
          host.delete("env");
          host.delete("password_env");
        }
    }
  }
  const config = parseConfig(doc.errors.length ? text : doc.toString(), { file, env });
  if (!config.environments[environment]) {
    throw new UsageError("unknown_environment", `${file}: environments.${environment}: not configured`, {
      hint: "add the environment to relctl.yml or pass another environment",
    });
  }
  return config;
}

/** The service name and environment names of relctl.yml, without reading any `${VAR}`. */
export async function readConfigOutline(
  path: string,
  cwd: string,
): Promise<{ file: string; service: string; environments: string[] }> {
  const file = resolve(cwd, path);
  const doc = parseDocument(await readConfigText(file), { prettyErrors: false });
  const service = doc.get("service");
  const environments = doc.get("environments");
  if (doc.errors.length || typeof service !== "string") {
    throw new UsageError("config_invalid", `${file}: service: required`);
  }
  const names = isMap(environments)
    ? environments.items.map((i) => String((i.key as { value?: unknown } | null)?.value ?? i.key))
    : [];
  return { file, service, environments: names };
}
