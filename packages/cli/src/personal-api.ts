import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { ExternalError, looksLikeApiToken, type RelctlError, StateError, UsageError } from "@relctl/core";

/**
 * The CLI with an approvals service (RELCTL_API_URL): approvals and rollbacks go through its API
 * with the personal token `relctl login` saved, so they carry the member that token is bound to
 * and get the same checks as a Telegram press. Without RELCTL_API_URL the CLI works on the
 * database itself: administrator mode.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** The approvals service's URL (RELCTL_API_URL), checked; undefined: administrator mode. */
export function approvalsServiceUrl(env: Env): string | undefined {
  const value = env.RELCTL_API_URL?.trim();
  if (!value) return undefined;
  return validateApiUrl(value, "RELCTL_API_URL");
}

export function validateApiUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError("invalid_api_url", `${field}: ${JSON.stringify(value.slice(0, 80))} is not a URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError("invalid_api_url", `${field}: expected an http(s) URL`);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new UsageError("invalid_api_url", `${field}: a plain URL, without credentials, query or fragment`);
  }
  return url.toString().replace(/\/+$/, "");
}

/** Where `relctl login` keeps the personal token: the user's config folder, readable by them only. */
export function credentialsPath(env: Env): string {
  const base = env.XDG_CONFIG_HOME?.trim() || join(env.HOME?.trim() || homedir(), ".config");
  return join(base, "relctl", "credentials.json");
}

export interface SavedLogin {
  readonly apiUrl: string;
  readonly token: string;
  readonly member: string;
  readonly tokenName: string;
  readonly expiresAt: string | null;
}

/** Writes the login (folder 0700, file 0600, replaced whole). */
export function saveLogin(env: Env, login: SavedLogin): string {
  const file = credentialsPath(env);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(
    temp,
    `${JSON.stringify(
      {
        api_url: login.apiUrl,
        token: login.token,
        member: login.member,
        token_name: login.tokenName,
        expires_at: login.expiresAt,
      },
      null,
      2,
    )}\n`,
    { mode: 0o600 },
  );
  chmodSync(temp, 0o600);
  renameSync(temp, file);
  return file;
}

export function removeLogin(env: Env): boolean {
  const file = credentialsPath(env);
  try {
    readFileSync(file);
  } catch {
    return false;
  }
  rmSync(file, { force: true });
  return true;
}

/** The saved login for this approvals service; refuses when there is none, or it is another's. */
export function readLogin(env: Env, apiUrl: string): SavedLogin {
  const file = credentialsPath(env);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    throw new UsageError("not_logged_in", `you are not logged in to the approvals service ${apiUrl}`, {
      hint: "relctl login, with the personal token an admin made: relctl tokens create <name> --member <telegram-id>",
    });
  }
  const token = typeof raw.token === "string" ? raw.token : "";
  if (raw.api_url !== apiUrl || !looksLikeApiToken(token)) {
    throw new UsageError(
      "not_logged_in",
      `you are logged in to ${String(raw.api_url)}, not to the approvals service ${apiUrl} (RELCTL_API_URL)`,
      { hint: "relctl login again" },
    );
  }
  return {
    apiUrl,
    token,
    member: String(raw.member ?? ""),
    tokenName: String(raw.token_name ?? ""),
    expiresAt: typeof raw.expires_at === "string" ? raw.expires_at : null,
  };
}

/** The approvals service's API, with a personal token; errors keep the service's code and line. */
export interface PersonalApi {
  call(method: "GET" | "POST", path: string, body?: unknown): Promise<Record<string, unknown>>;
}

export function createPersonalApi(options: {
  apiUrl: string;
  token: string;
  traceparent?: string;
  timeoutMs?: number;
}): PersonalApi {
  return {
    async call(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${options.apiUrl}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: "application/json",
            "user-agent": "relctl-cli",
            ...(options.traceparent ? { traceparent: options.traceparent } : {}),
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
        });
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        throw new ExternalError(
          "api_unreachable",
          `approvals service: ${method} ${path} failed: ${e.name === "TimeoutError" ? "no answer in time" : (e.cause?.code ?? "cannot connect")}`,
          { hint: `check RELCTL_API_URL (${options.apiUrl})` },
        );
      }
      const text = await response.text();
      let json: Record<string, unknown> = {};
      try {
        json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        json = {};
      }
      if (response.ok) return json;
      throw apiError(response.status, json, options.token);
    },
  };
}

/** The service's error as relctl's own: its code, kind (so the exit code), one line and hint. */
function apiError(status: number, body: Record<string, unknown>, token: string): RelctlError {
  const e = (body.error ?? {}) as Record<string, unknown>;
  const clean = (v: unknown) =>
    typeof v === "string" ? v.split("\n")[0]!.slice(0, 500).split(token).join("[REDACTED]") : undefined;
  const code = typeof e.code === "string" ? e.code : `http_${status}`;
  const message = clean(e.message) ?? `HTTP ${status}`;
  const hint =
    clean(e.hint) ??
    (status === 401 ? "your personal token is unknown, revoked or expired: relctl login again" : undefined);
  const options = hint ? { hint } : {};
  if (e.kind === "state" || status === 409) return new StateError(code, message, options);
  if (status >= 500 || e.kind === "external") return new ExternalError(code, message, options);
  return new UsageError(code, message, options);
}
