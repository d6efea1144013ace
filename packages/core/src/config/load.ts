import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, isAbsolute, resolve } from "node:path";
import { parse as parseYaml, YAMLParseError } from "yaml";
import type { z } from "zod";
import { type ApprovalPolicy, DEFAULT_APPROVAL_POLICY } from "../domain/approvals.js";
import { describe } from "../domain/names.js";
import { UsageError } from "../errors.js";
import { type HostTarget, isLocalTarget } from "../ports/executor.js";
import { parseDuration } from "./duration.js";
import { type approvalsSchema, configSchema, type RawConfig, type RawEnvironment } from "./schema.js";

/** A host of an environment: how to reach it, and what differs on it. */
export interface EnvironmentHost extends HostTarget {
  /** Working directory on this host. */
  readonly path: string;
  /** Variables for commands on this host (environment's, then the host's). */
  readonly vars: Readonly<Record<string, string>>;
  /** Values that came from relctl's environment (`${NAME}`): never printed or stored. */
  readonly secrets: readonly string[];
  readonly healthUrl?: string;
  /** The proxy in front of the service on this host (environment `proxy:` with the host's overrides). */
  readonly proxy?: ProxyConfig;
}

/** Blue/green behind HAProxy on each host (see proxySchema). */
export interface ProxyConfig {
  readonly kind: "haproxy";
  /** The runtime API: host:port or a socket path. */
  readonly admin: string;
  readonly backend: string;
  readonly stateFile?: string;
  /** The blue and the green port. */
  readonly ports: readonly [number, number];
  readonly drainMs: number;
}

/** A number of hosts, or a share of them (rounded up, at least one). */
export type HostCount = { readonly hosts: number } | { readonly percent: number };

/** How a deploy switches its hosts (see rolloutSchema). */
export interface Rollout {
  /** The first batch; null: the first batch is a batch like the others. */
  readonly canary: HostCount | null;
  readonly batch: HostCount;
  /** How long the first batch bakes before the others switch (0: no bake). */
  readonly bakeMs: number;
  readonly analysis: RolloutAnalysis | null;
}

export interface RolloutAnalysis {
  readonly prometheus: string;
  readonly query: string;
  readonly max?: number;
  readonly min?: number;
  readonly intervalMs: number;
  readonly failureLimit: number;
}

/**
 * What an environment is to a release: `stage` (where a new tag is deployed and its rollback
 * rehearsed; the release moves initiated → … → manual_testing), `gated` (needs the release's
 * approvals; the release moves manual_test_passed → deploying → …), or `open` (no approvals; a
 * deploy there never moves a release).
 */
export type EnvironmentRole = "stage" | "gated" | "open";

export interface EnvironmentGate {
  /** A release must be approved (manual_test_passed, or deployed elsewhere) before it comes here. */
  readonly approvals: boolean;
  /** The environment a release must have passed first. */
  readonly after: string | null;
}

export interface EnvironmentConfig {
  readonly name: string;
  readonly role: EnvironmentRole;
  readonly gate: EnvironmentGate;
  readonly hosts: readonly EnvironmentHost[];
  readonly path: string;
  readonly strategy: "releases" | "docker-compose" | "docker";
  readonly keep: number;
  /** How many hosts work at once (preparation, a rollback's switches, doctor). */
  readonly parallel: number;
  readonly env: Readonly<Record<string, string>>;
  readonly commands: RawEnvironment["commands"];
  readonly health?: {
    readonly url: string;
    readonly attempts: number;
    readonly intervalMs: number;
    readonly timeoutMs: number;
    readonly from: "host" | "relctl";
    readonly expectVersion: boolean;
  };
  readonly timeouts: {
    readonly default: number;
    readonly fetch: number;
    readonly build: number;
    readonly migrate: number;
    readonly start: number;
  };
  readonly approvals: ApprovalPolicy;
  /** Blue/green behind a proxy; per host in EnvironmentHost.proxy. */
  readonly proxy?: ProxyConfig;
  readonly rollout: Rollout;
  /** Freeze windows: no deploy starts inside one without a lead's override. */
  readonly freeze: readonly FreezeWindow[];
}

export interface FreezeWindow {
  readonly from: Date;
  readonly to: Date;
  readonly reason: string;
}

export interface ServiceConfig {
  readonly service: string;
  /** The stage environment (see EnvironmentRole), when there is one. */
  readonly stage?: string;
  readonly repository?: string;
  readonly approvals: ApprovalPolicy;
  readonly environments: Readonly<Record<string, EnvironmentConfig>>;
  /** Absolute path of the file it came from, when it came from a file. */
  readonly file?: string;
}

/** Parses relctl.yml text. Errors are one line with the dot-path of the offending key. */
export function parseConfig(
  text: string,
  options: {
    file?: string;
    env?: NodeJS.ProcessEnv;
    /**
     * Resolve `${NAME}` and `password_env` when a host's values are first read (a command that
     * touches that environment), not while parsing: reading the file then needs no secrets.
     */
    deferEnv?: boolean;
  } = {},
): ServiceConfig {
  const where = options.file ?? "relctl.yml";
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: false }) ?? {};
  } catch (err) {
    const msg = err instanceof YAMLParseError ? err.message.split("\n")[0] : String(err);
    throw new UsageError("config_yaml", `${where}: not valid YAML: ${msg}`);
  }
  const parsed = configSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw configIssueError(where, parsed.error);
  return normalizeConfig(
    parsed.data,
    options.file ? dirname(options.file) : process.cwd(),
    where,
    options.file,
    options.env,
    options.deferEnv,
  );
}

export async function loadConfig(path: string, env?: NodeJS.ProcessEnv): Promise<ServiceConfig> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError("config_missing", `config: cannot read ${file}`, {
      hint: "pass --config <path> or run relctl in the folder that holds relctl.yml",
    });
  }
  return parseConfig(text, { file, env, deferEnv: true });
}

/** The configuration used when there is no relctl.yml: the default approval policy, no environments. */
export function defaultConfig(service: string): ServiceConfig {
  return { service, approvals: DEFAULT_APPROVAL_POLICY, environments: {} };
}

function configIssueError(where: string, error: z.ZodError): UsageError {
  const issue = error.issues[0]!;
  const path = formatPath(issue.path);
  return new UsageError("config_invalid", `${where}: ${path ? `${path}: ` : ""}${issueMessage(issue)}`, {
    details: { path },
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const input = "input" in issue ? issue.input : undefined;
  switch (issue.code) {
    case "invalid_type":
      return input === undefined
        ? `required (expected ${article(issue.expected)})`
        : `expected ${article(issue.expected)}, got ${describeInput(input)}`;
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeInput(input)}`;
    case "too_small":
      return issue.origin === "array"
        ? `expected at least ${issue.minimum} item(s)`
        : `expected at least ${issue.minimum}${issue.origin === "string" ? " character(s)" : ""}`;
    case "too_big":
      return `expected at most ${issue.maximum}${issue.origin === "string" ? " characters" : ""}`;
    default:
      return `${issue.message}${input !== undefined && typeof input !== "object" ? `, got ${describeInput(input)}` : ""}`;
  }
}

function article(type: string): string {
  if (type === "int") return "an integer";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeInput(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  if (typeof input === "object") return "a mapping";
  if (typeof input === "string") return describe(input);
  return String(input);
}

export function normalizeApprovals(
  raw: z.output<typeof approvalsSchema> | undefined,
  base: ApprovalPolicy,
): ApprovalPolicy {
  if (!raw) return base;
  return {
    roles: raw.roles ? raw.roles.map((r) => (typeof r === "string" ? { role: r, count: 1 } : r)) : base.roles,
    order: raw.order ?? base.order,
    allowSelfApproval: raw.allow_self_approval ?? base.allowSelfApproval,
  };
}

function normalizeConfig(
  raw: RawConfig,
  baseDir: string,
  where: string,
  file: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  deferEnv = false,
): ServiceConfig {
  const approvals = normalizeApprovals(raw.approvals, DEFAULT_APPROVAL_POLICY);
  const environments: Record<string, EnvironmentConfig> = {};
  if (raw.stage !== undefined && !raw.environments[raw.stage]) {
    throw new UsageError(
      "config_invalid",
      `${where}: stage: "${raw.stage}" is not a configured environment (configured: ${Object.keys(raw.environments).join(", ") || "none"})`,
    );
  }
  const stage = raw.stage ?? (raw.environments.stage ? "stage" : undefined);
  for (const [name, e] of Object.entries(raw.environments)) {
    const isStage = name === stage;
    if (isStage && e.gate?.approvals === true) {
      throw new UsageError(
        "config_invalid",
        `${where}: environments.${name}.gate.approvals: the stage environment cannot need approvals (a release is approved after its stage run)`,
      );
    }
    const needsApprovals = e.gate?.approvals ?? !isStage;
    const after = e.gate?.after ?? (needsApprovals && stage && !isStage ? stage : null);
    if (after !== null && (after === name || !raw.environments[after])) {
      throw new UsageError(
        "config_invalid",
        `${where}: environments.${name}.gate.after: expected another configured environment (configured: ${Object.keys(
          raw.environments,
        )
          .filter((n) => n !== name)
          .join(", ")}), got "${after}"`,
      );
    }
    const rolesSeen = new Set<string>();
    for (const [i, r] of (e.approvals?.roles ?? []).entries()) {
      const role = typeof r === "string" ? r : r.role;
      if (rolesSeen.has(role)) {
        throw new UsageError(
          "config_invalid",
          `${where}: environments.${name}.approvals.roles[${i}]: "${role}" is listed twice`,
        );
      }
      rolesSeen.add(role);
    }
    if (e.commands.migrate_down && !e.commands.schema_version) {
      throw new UsageError(
        "config_invalid",
        `${where}: environments.${name}.commands.schema_version: required when migrate_down is set (relctl records the schema version to roll back to)`,
      );
    }
    if (e.commands.migrate_down && !e.commands.migrate_down.includes("{version}")) {
      throw new UsageError(
        "config_invalid",
        `${where}: environments.${name}.commands.migrate_down: must contain the {version} placeholder`,
      );
    }
    const ms = (v: string | number | undefined, fallback: number) =>
      v === undefined ? fallback : parseDuration(v)!;
    const def = ms(e.timeouts.default, 10 * 60_000);
    const proxy = normalizeProxy(e, `${where}: environments.${name}`);
    environments[name] = {
      name,
      role: isStage ? "stage" : needsApprovals ? "gated" : "open",
      gate: { approvals: needsApprovals, after },
      hosts: e.hosts.map((h, i): EnvironmentHost => {
        const readPassword = () => {
          const password = env[h.password_env!];
          if (!password) {
            throw new UsageError(
              "config_invalid",
              `${where}: environments.${name}.hosts[${i}].password_env: environment variable ${h.password_env} is not set`,
            );
          }
          return password;
        };
        const readVars = () =>
          interpolateVars(
            { ...e.env, ...h.env },
            env,
            `${where}: environments.${name}${h.env ? `.hosts[${i}]` : ""}.env`,
          );
        const host = {
          name: h.name ?? (isLocalTarget(h) ? `local-${i + 1}` : h.address),
          address: h.address,
          port: h.port,
          user: h.user ?? "root",
          ...(!isLocalTarget(h) && !h.private_key && !h.agent && !h.password_env ? { agent: true } : {}),
          ...(h.private_key ? { privateKeyPath: resolvePath(baseDir, h.private_key) } : {}),
          ...(h.agent ? { agent: true } : {}),
          ...(h.password_env && !deferEnv ? { password: readPassword() } : {}),
          ...(h.host_key ? { hostKey: h.host_key } : {}),
          path: isLocalTarget(h) ? resolvePath(baseDir, h.path ?? e.path) : (h.path ?? e.path),
          ...(deferEnv ? {} : readVars()),
          ...((h.health_url ?? e.health?.url) ? { healthUrl: h.health_url ?? e.health?.url } : {}),
          ...(proxy
            ? {
                proxy: {
                  ...proxy,
                  admin: h.proxy?.admin ?? proxy.admin,
                  ports: h.proxy?.ports ?? proxy.ports,
                },
              }
            : {}),
        };
        return deferEnv
          ? deferHostEnv(host, readVars, h.password_env ? readPassword : undefined)
          : (host as EnvironmentHost);
      }),
      path: e.hosts.every((h) => isLocalTarget(h)) ? resolvePath(baseDir, e.path) : e.path,
      strategy: e.strategy,
      keep: e.keep,
      parallel: e.parallel,
      env: e.env,
      commands: e.commands,
      ...(e.health
        ? {
            health: {
              url: e.health.url,
              attempts: e.health.attempts,
              intervalMs: parseDuration(e.health.interval)!,
              timeoutMs: parseDuration(e.health.timeout)!,
              from: e.health.from,
              expectVersion: e.health.expect_version,
            },
          }
        : {}),
      timeouts: {
        default: def,
        fetch: ms(e.timeouts.fetch, def),
        build: ms(e.timeouts.build, def),
        migrate: ms(e.timeouts.migrate, def),
        start: ms(e.timeouts.start, def),
      },
      approvals: normalizeApprovals(e.approvals, approvals),
      ...(proxy ? { proxy } : {}),
      rollout: normalizeRollout(e.rollout),
      freeze: (e.freeze ?? []).map((w, i) => {
        const from = new Date(w.from);
        const to = new Date(w.to);
        if (!(from < to)) {
          throw new UsageError(
            "config_invalid",
            `${where}: environments.${name}.freeze[${i}]: to must be after from`,
          );
        }
        return { from, to, reason: w.reason };
      }),
    };
  }
  return {
    service: raw.service,
    ...(stage ? { stage } : {}),
    ...(raw.repository
      ? {
          repository: /^[a-z+]+:\/\/|^[^/]+@[^:]+:/.test(raw.repository)
            ? raw.repository
            : resolvePath(baseDir, raw.repository),
        }
      : {}),
    approvals,
    environments,
    ...(file ? { file } : {}),
  };
}

/**
 * The host with `vars`, `secrets` (and `password`) read from relctl's environment on first use:
 * a command that never touches the environment needs none of its variables set.
 */
function deferHostEnv(
  host: Omit<EnvironmentHost, "vars" | "secrets">,
  readVars: () => { vars: Record<string, string>; secrets: string[] },
  readPassword: (() => string) | undefined,
): EnvironmentHost {
  const once = <T>(read: () => T): (() => T) => {
    let value: { v: T } | undefined;
    return () => {
      value ??= { v: read() };
      return value.v;
    };
  };
  const vars = once(readVars);
  const lazy = <T>(get: () => T): PropertyDescriptor => ({ enumerable: true, configurable: true, get });
  return Object.defineProperties(host, {
    vars: lazy(() => vars().vars),
    secrets: lazy(() => vars().secrets),
    ...(readPassword ? { password: lazy(once(readPassword)) } : {}),
  }) as EnvironmentHost;
}

/**
 * Values in `env:` may name variables of relctl's own environment as ${NAME} (secrets such as a
 * database URL stay out of the file). Those values are treated as secrets.
 */
function interpolateVars(
  vars: Record<string, string>,
  env: NodeJS.ProcessEnv,
  where: string,
): { vars: Record<string, string>; secrets: string[] } {
  const secrets: string[] = [];
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(vars)) {
    out[key] = value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        throw new UsageError("config_invalid", `${where}.${key}: environment variable ${name} is not set`);
      }
      if (v) secrets.push(v);
      return v;
    });
  }
  return { vars: out, secrets };
}

function resolvePath(baseDir: string, p: string): string {
  if (p.startsWith("~/")) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

function normalizeProxy(e: RawEnvironment, where: string): ProxyConfig | undefined {
  if (!e.proxy) {
    const i = e.hosts.findIndex((h) => h.proxy);
    if (i !== -1)
      throw new UsageError("config_invalid", `${where}.hosts[${i}].proxy: needs the environment's proxy:`);
    return undefined;
  }
  if (e.strategy === "docker-compose") {
    throw new UsageError(
      "config_invalid",
      `${where}.proxy: the docker-compose strategy cannot run two instances side by side (use strategy: docker or releases)`,
    );
  }
  if (e.strategy === "releases" && !e.commands.start) {
    throw new UsageError(
      "config_invalid",
      `${where}.commands.start: required with proxy: (it starts the release on $PORT beside the live one)`,
    );
  }
  return {
    kind: "haproxy",
    admin: e.proxy.haproxy.admin,
    backend: e.proxy.haproxy.backend,
    ...(e.proxy.haproxy.state_file ? { stateFile: e.proxy.haproxy.state_file } : {}),
    ports: e.proxy.ports,
    drainMs: parseDuration(e.proxy.drain)!,
  };
}

function hostCountOf(v: number | string): HostCount {
  return typeof v === "number" ? { hosts: v } : { percent: Number(v.slice(0, -1)) };
}

function normalizeRollout(r: RawEnvironment["rollout"]): Rollout {
  if (!r) return { canary: null, batch: { hosts: 1 }, bakeMs: 0, analysis: null };
  const a = r.analysis;
  return {
    canary: r.canary === undefined ? null : hostCountOf(r.canary),
    batch: hostCountOf(r.batch),
    bakeMs: r.bake === undefined ? (a ? parseDuration(a.interval)! : 0) : parseDuration(r.bake)!,
    analysis: a
      ? {
          prometheus: a.prometheus.replace(/\/+$/, ""),
          query: a.query,
          ...(a.max !== undefined ? { max: a.max } : {}),
          ...(a.min !== undefined ? { min: a.min } : {}),
          intervalMs: parseDuration(a.interval)!,
          failureLimit: a.failure_limit,
        }
      : null,
  };
}
