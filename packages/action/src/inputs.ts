import { UsageError, validateReleaseId, validateService, validateTag } from "@relctl/core";
import type { WorkflowContext } from "./workflow-context.js";

type Env = Readonly<Record<string, string | undefined>>;

export const ACTION_COMMANDS = ["stage", "production", "rollback", "status"] as const;
export type ActionCommand = (typeof ACTION_COMMANDS)[number];

/** The environment each command works on unless `environment` says otherwise. */
export const DEFAULT_ENVIRONMENT: Readonly<Record<ActionCommand, string>> = {
  stage: "stage",
  production: "production",
  rollback: "production",
  status: "production",
};

export interface ActionInputs {
  readonly command: ActionCommand;
  readonly service?: string;
  /** The release's tag (stage, production, status) or the tag to go back to (rollback). */
  readonly tag?: string;
  /** Where the tag came from, for messages: "tag", "the pushed tag", "the dispatch input tag". */
  readonly tagSource?: string;
  readonly releaseId?: number;
  readonly environment: string;
  readonly configPath: string;
  /**
   * The approvals service, with its API token, or with the job's OIDC ID token (`oidcAudience`:
   * a new one asked of the runner for every call).
   */
  readonly api?: { readonly url: string; readonly token?: string; readonly oidcAudience?: string };
  readonly sshPrivateKey?: string;
  readonly knownHosts?: string;
  readonly githubToken?: string;
  readonly deployments: boolean;
}

/**
 * The runner gives a JavaScript action each input as INPUT_<NAME> (upper case, `-` kept:
 * `INPUT_SSH-PRIVATE-KEY`); INPUT_SSH_PRIVATE_KEY (`-` → `_`) is read too, for callers that set
 * the environment themselves.
 */
export function rawInput(env: Env, name: string): string | undefined {
  return env[`INPUT_${name.toUpperCase()}`] ?? env[`INPUT_${name.replace(/-/g, "_").toUpperCase()}`];
}

function input(env: Env, name: string): string | undefined {
  const value = rawInput(env, name);
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

/** Secrets keep their exact text (a private key needs its final newline). */
function secretInput(env: Env, name: string): string | undefined {
  const value = rawInput(env, name);
  return value?.trim() ? value : undefined;
}

function booleanInput(env: Env, name: string, fallback: boolean): boolean {
  const value = input(env, name);
  if (value === undefined) return fallback;
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  throw new UsageError(
    "invalid_input",
    `${name}: expected true or false, got ${JSON.stringify(value.slice(0, 20))}`,
  );
}

/** The tag an input, a dispatch or a tag push names, with where it came from. */
function pickTag(env: Env, context: WorkflowContext): { tag: string; source: string } | undefined {
  const explicit = input(env, "tag");
  if (explicit !== undefined) return { tag: explicit, source: "tag" };
  const dispatched = context.event.inputs.tag?.trim();
  if (dispatched) return { tag: dispatched, source: "tag (workflow_dispatch input)" };
  const ref = context.event.ref ?? context.ref;
  if (ref?.startsWith("refs/tags/"))
    return { tag: ref.slice("refs/tags/".length), source: "tag (the pushed tag)" };
  return undefined;
}

/**
 * Reads and checks every input before relctl touches anything: a value that fails here stops the
 * action with one line naming the input, before any file, API or SSH connection is touched.
 */
export function parseActionInputs(env: Env, context: WorkflowContext): ActionInputs {
  const command = input(env, "command");
  if (!command) {
    throw new UsageError("input_required", `command: required (one of ${ACTION_COMMANDS.join(", ")})`);
  }
  if (!(ACTION_COMMANDS as readonly string[]).includes(command)) {
    throw new UsageError(
      "invalid_input",
      `command: expected one of ${ACTION_COMMANDS.join(", ")}, got ${JSON.stringify(command.slice(0, 40))}`,
    );
  }
  const cmd = command as ActionCommand;

  const picked = pickTag(env, context);
  const tag = picked ? validateTag(picked.tag, picked.source) : undefined;
  if (!tag && cmd !== "status") {
    throw new UsageError(
      "input_required",
      cmd === "rollback"
        ? "tag: required: the tag to roll back to"
        : "tag: required: run on a tag push, or pass the tag",
    );
  }

  const service = input(env, "service");
  if (service !== undefined) validateService(service);

  const rawId = input(env, "release-id") ?? context.event.inputs.release_id?.trim();
  const releaseId = rawId ? validateReleaseIdInput(rawId) : undefined;

  const environment = input(env, "environment") ?? DEFAULT_ENVIRONMENT[cmd];
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(environment)) {
    throw new UsageError(
      "invalid_input",
      `environment: ${JSON.stringify(environment.slice(0, 40))} is not an environment name (a-z 0-9 _ -, starting with a-z)`,
    );
  }
  const apiUrl = input(env, "api-url");
  const apiToken = secretInput(env, "api-token")?.trim();
  const oidc = booleanInput(env, "oidc", false);
  const oidcAudience = input(env, "oidc-audience") ?? "relctl";
  if (oidc) {
    if (!apiUrl) throw new UsageError("input_required", "api-url: required with oidc");
    if (apiToken)
      throw new UsageError("invalid_input", "api-token: leave it out with oidc: the ID token is the proof");
    if (!/^[\x21-\x7e]{1,255}$/.test(oidcAudience)) {
      throw new UsageError("invalid_input", "oidc-audience: 1-255 visible ASCII characters");
    }
  } else {
    if (apiUrl && !apiToken) {
      throw new UsageError("input_required", "api-token: required with api-url (or set oidc: true)");
    }
    if (apiToken && !apiUrl) throw new UsageError("input_required", "api-url: required with api-token");
  }
  if (apiUrl) validateApiUrl(apiUrl);

  const configPath = input(env, "config") ?? "relctl.yml";
  if (configPath.includes("\0")) throw new UsageError("invalid_input", "config: not a path");

  const sshPrivateKey = secretInput(env, "ssh-private-key");
  if (sshPrivateKey && !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(sshPrivateKey)) {
    throw new UsageError("invalid_input", "ssh-private-key: expected a private key in OpenSSH or PEM format");
  }
  const knownHosts = input(env, "known-hosts");
  const githubToken = secretInput(env, "github-token")?.trim();

  return {
    command: cmd,
    ...(service ? { service } : {}),
    ...(tag ? { tag, tagSource: picked!.source } : {}),
    ...(releaseId ? { releaseId } : {}),
    environment,
    configPath,
    ...(apiUrl && (apiToken || oidc)
      ? {
          api: {
            url: apiUrl.replace(/\/+$/, ""),
            ...(oidc ? { oidcAudience } : { token: apiToken! }),
          },
        }
      : {}),
    ...(sshPrivateKey
      ? { sshPrivateKey: sshPrivateKey.endsWith("\n") ? sshPrivateKey : `${sshPrivateKey}\n` }
      : {}),
    ...(knownHosts ? { knownHosts } : {}),
    ...(githubToken ? { githubToken } : {}),
    deployments: booleanInput(env, "deployments", true),
  };
}

function validateReleaseIdInput(value: string): number {
  try {
    return validateReleaseId(value);
  } catch {
    throw new UsageError(
      "invalid_input",
      `release-id: expected a positive whole number, got ${JSON.stringify(value.slice(0, 20))}`,
    );
  }
}

function validateApiUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError("invalid_input", "api-url: not a URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError("invalid_input", "api-url: expected an http(s) URL");
  }
  if (url.username || url.password) {
    throw new UsageError("invalid_input", "api-url: must not carry credentials; pass the token as api-token");
  }
}

/** Every secret the inputs carry, for the runner to mask before anything is printed. */
export function secretsOf(inputs: ActionInputs): string[] {
  const out: string[] = [];
  if (inputs.api?.token) out.push(inputs.api.token);
  if (inputs.githubToken) out.push(inputs.githubToken);
  if (inputs.sshPrivateKey) {
    out.push(inputs.sshPrivateKey.trim());
    // The runner masks line by line too: a multi-line secret printed in part is still hidden.
    for (const line of inputs.sshPrivateKey.split("\n"))
      if (line.trim().length >= 8 && !line.startsWith("-----")) out.push(line.trim());
  }
  return out;
}
