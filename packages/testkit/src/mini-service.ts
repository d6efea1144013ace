import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net.js";

/**
 * A small real service for runbook tests on `address: local` hosts: a git repository with tags,
 * an HTTP server whose /health names the version of its checkout, a schema kept in a file per
 * environment (migrate up to the checkout's SCHEMA, down to any lower version, print it), and a
 * start script that replaces the running process. Each tag can be made to misbehave the ways a
 * team's release does.
 */
export interface MiniTag {
  readonly tag: string;
  /** The schema version this code migrates up to (default 1). */
  readonly schema?: number;
  /** /health answers 500 (everywhere, or only in this environment: a setting it lacks there). */
  readonly unhealthy?: boolean | string;
  /** The start script forgets to stop the old process: the new one dies (port in use) while the old one keeps answering. */
  readonly brokenStart?: boolean;
  /**
   * In production, `migrate up` first runs `sleep <this>` (a unique value doubles as a marker to
   * find the process on the host).
   */
  readonly migrateSleep?: string;
  /** /health is fine, but /metrics reports mini_error_ratio 0.9 (0 otherwise): only an analysis sees it. */
  readonly badMetrics?: boolean;
}

/** Reach the hosts over SSH (a test's sshd on this machine) instead of `address: local`. */
export interface MiniSsh {
  readonly port: number;
  readonly user: string;
  readonly privateKey: string;
  readonly hostKey: string;
}

export interface MiniHost {
  readonly name: string;
  readonly port: number;
  readonly path: string;
}

export interface MiniEnvironment {
  readonly name: string;
  readonly hosts: readonly MiniHost[];
  /** Where its schema version lives. */
  readonly dbFile: string;
  readonly keep?: number;
  /** Extra YAML lines of the environment (indented by 4), e.g. "    gate: { approvals: false }". */
  readonly extra?: string;
}

export interface MiniService {
  readonly dir: string;
  readonly service: string;
  readonly origin: string;
  readonly configFile: string;
  readonly environments: Readonly<Record<string, MiniEnvironment>>;
  /** Writes relctl.yml again (e.g. with other environment extras). */
  writeConfig(overrides?: { top?: string; extra?: Record<string, string> }): void;
  /** The version each host of an environment answers on /health, or null when nothing answers. */
  liveVersions(env: string): Promise<(string | null)[]>;
  /** The environment's schema version as the service's migrations left it. */
  schemaOf(env: string): number;
  /** The tag the host's `current` link points at. */
  currentLink(env: string, host?: number): string | null;
  stop(): Promise<void>;
}

const SERVER = `import { createServer } from "node:http";
import { readFileSync, unlinkSync, writeFileSync, existsSync } from "node:fs";
const here = (f) => new URL("./" + f, import.meta.url);
const version = readFileSync(here("VERSION"), "utf8").trim();
const failIn = existsSync(here("UNHEALTHY")) ? readFileSync(here("UNHEALTHY"), "utf8").trim() : null;
const unhealthy = failIn !== null && (failIn === "*" || failIn === process.env.RELCTL_ENVIRONMENT);
const pidfile = process.env.PIDFILE || process.env.RELCTL_PATH + "/service.pid";
const errorRatio = existsSync(here("BAD_METRICS")) ? 0.9 : 0;
const server = createServer((req, res) => {
  if (req.url === "/metrics") {
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" });
    res.end("# TYPE mini_error_ratio gauge\\nmini_error_ratio{version=\\"" + version + "\\"} " + errorRatio + "\\n");
    return;
  }
  res.writeHead(unhealthy ? 500 : 200, { "content-type": "application/json" });
  res.end(JSON.stringify({ status: unhealthy ? "failing" : "ok", version }));
});
server.on("error", (err) => { console.error(String(err)); process.exit(1); });
server.listen(Number(process.env.PORT), "127.0.0.1", () => writeFileSync(pidfile, String(process.pid)));
const stop = () => { try { unlinkSync(pidfile); } catch {} process.exit(0); };
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
`;

const START = `#!/bin/sh
# (Re)starts the service from this release: stops the running process, starts this one detached.
set -eu
pidfile="\${PIDFILE:-$RELCTL_PATH/service.pid}"
old=""
if [ -f "$pidfile" ]; then
  old=$(cat "$pidfile")
  kill "$old" 2>/dev/null || true
  i=0; while [ -f "$pidfile" ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  rm -f "$pidfile"
fi
setsid nohup node server.mjs >>"$RELCTL_PATH/service.log" 2>&1 </dev/null &
i=0
while [ "$i" -lt 100 ]; do
  if [ -s "$pidfile" ] && [ "$(cat "$pidfile")" != "$old" ]; then exit 0; fi
  sleep 0.05; i=$((i + 1))
done
echo "the service did not start (see $RELCTL_PATH/service.log)" >&2
exit 1
`;

/** A start script with a bug: it starts the new process without stopping the old one, and says nothing. */
const BROKEN_START = `#!/bin/sh
setsid nohup node server.mjs >>"$RELCTL_PATH/service.log" 2>&1 </dev/null &
sleep 0.3
exit 0
`;

const MIGRATE = `#!/bin/sh
# The schema, kept in $DB_FILE: up to this code's SCHEMA, down to a lower version, or print it.
set -eu
db=\${DB_FILE:?}
cur=$(cat "$db" 2>/dev/null || echo 0)
case "$1" in
  up) if [ -f SLEEP ] && [ "\${RELCTL_ENVIRONMENT:-}" = production ]; then sleep "$(cat SLEEP)"; fi; target=$(cat SCHEMA); if [ "$target" -gt "$cur" ]; then echo "$target" > "$db"; fi ;;
  down) if [ "$2" -gt "$cur" ]; then echo "cannot go down to $2 from $cur" >&2; exit 3; fi; echo "$2" > "$db" ;;
  version) cat "$db" 2>/dev/null || echo 0 ;;
  *) echo "usage: migrate.sh up | down <version> | version" >&2; exit 64 ;;
esac
`;

/** git in `cwd` as a fixed author, for the tests' own repositories. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "dev",
      GIT_AUTHOR_EMAIL: "dev@example.com",
      GIT_COMMITTER_NAME: "dev",
      GIT_COMMITTER_EMAIL: "dev@example.com",
    },
  });
}

/** Makes the repository, its tags, and relctl.yml with the given environments (hosts on this machine). */
export async function createMiniService(options: {
  readonly service?: string;
  readonly tags: readonly MiniTag[];
  /** Environment name → number of hosts (default: stage with 1, production with 2). */
  readonly environments?: Readonly<Record<string, { hosts?: number; keep?: number; extra?: string }>>;
  /** Extra top-level YAML (e.g. "stage: qa"). */
  readonly top?: string;
  readonly health?: { attempts?: number; interval?: string; expectVersion?: boolean };
  readonly ssh?: MiniSsh;
  /** Extra keys of a host's entry (flow YAML, e.g. `proxy: { ports: [1, 2] }`), by environment. */
  readonly hostExtra?: Readonly<Record<string, (host: MiniHost, index: number) => string>>;
}): Promise<MiniService> {
  const service = options.service ?? "mini";
  const dir = mkdtempSync(join(tmpdir(), `relctl-${service}-`));
  const work = join(dir, "work");
  const origin = join(dir, "origin.git");
  mkdirSync(work);
  git(work, "init", "--quiet", "--initial-branch=main");
  writeFileSync(join(work, "server.mjs"), SERVER);
  writeFileSync(join(work, "migrate.sh"), MIGRATE);
  for (const t of options.tags) {
    writeFileSync(join(work, "VERSION"), `${t.tag}\n`);
    writeFileSync(join(work, "SCHEMA"), `${t.schema ?? 1}\n`);
    writeFileSync(join(work, "start.sh"), t.brokenStart ? BROKEN_START : START);
    if (t.migrateSleep) writeFileSync(join(work, "SLEEP"), `${t.migrateSleep}\n`);
    else rmSync(join(work, "SLEEP"), { force: true });
    if (t.badMetrics) writeFileSync(join(work, "BAD_METRICS"), "1\n");
    else rmSync(join(work, "BAD_METRICS"), { force: true });
    if (t.unhealthy) writeFileSync(join(work, "UNHEALTHY"), `${t.unhealthy === true ? "*" : t.unhealthy}\n`);
    else rmSync(join(work, "UNHEALTHY"), { force: true });
    git(work, "add", "--all");
    git(work, "commit", "--quiet", "--allow-empty", "-m", `release ${t.tag}`);
    git(work, "tag", t.tag);
  }
  git(dir, "clone", "--quiet", "--bare", work, origin);

  const envSpec = options.environments ?? { stage: { hosts: 1 }, production: { hosts: 2 } };
  const environments: Record<string, MiniEnvironment> = {};
  for (const [name, spec] of Object.entries(envSpec)) {
    const hosts: MiniHost[] = [];
    for (let i = 0; i < (spec.hosts ?? 1); i++) {
      hosts.push({
        name: `${name}-${i + 1}`,
        port: await freePort(),
        path: join(dir, "hosts", `${name}-${i + 1}`),
      });
    }
    environments[name] = {
      name,
      hosts,
      dbFile: join(dir, `${name}.schema`),
      ...(spec.keep !== undefined ? { keep: spec.keep } : {}),
      ...(spec.extra !== undefined ? { extra: spec.extra } : {}),
    };
  }
  const configFile = join(dir, "relctl.yml");
  const health = options.health ?? {};
  const ssh = options.ssh;
  const reach = ssh
    ? `address: 127.0.0.1, port: ${ssh.port}, user: ${ssh.user}, private_key: ${ssh.privateKey}, host_key: "${ssh.hostKey}"`
    : "address: local";
  const writeConfig = (overrides: { top?: string; extra?: Record<string, string> } = {}) => {
    const lines = [`service: ${service}`, `repository: ${origin}`];
    const top = overrides.top ?? options.top;
    if (top) lines.push(top);
    lines.push("environments:");
    for (const env of Object.values(environments)) {
      lines.push(
        `  ${env.name}:`,
        `    path: ${env.hosts[0]!.path}`,
        `    keep: ${env.keep ?? 5}`,
        "    hosts:",
        ...env.hosts.map((h, i) => {
          const more = options.hostExtra?.[env.name]?.(h, i);
          return `      - { name: ${h.name}, ${reach}, path: ${h.path}, env: { PORT: "${h.port}" }, health_url: "http://127.0.0.1:${h.port}/health"${more ? `, ${more}` : ""} }`;
        }),
        `    env: { DB_FILE: ${env.dbFile} }`,
        "    commands:",
        "      migrate: sh migrate.sh up",
        "      migrate_down: sh migrate.sh down {version}",
        "      schema_version: sh migrate.sh version",
        "      start: sh start.sh",
        `    health: { url: "http://127.0.0.1:${env.hosts[0]!.port}/health", attempts: ${health.attempts ?? 3}, interval: ${health.interval ?? "150ms"}, timeout: 1s, from: relctl${health.expectVersion === false ? ", expect_version: false" : ""} }`,
      );
      const extra = overrides.extra?.[env.name] ?? env.extra;
      if (extra) lines.push(extra);
    }
    writeFileSync(configFile, `${lines.join("\n")}\n`);
  };
  writeConfig();

  const versionOf = async (port: number): Promise<string | null> => {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      return ((await res.json()) as { version?: string }).version ?? null;
    } catch {
      return null;
    }
  };
  return {
    dir,
    service,
    origin,
    configFile,
    environments,
    writeConfig,
    liveVersions: (env) => Promise.all(environments[env]!.hosts.map((h) => versionOf(h.port))),
    schemaOf: (env) => {
      const f = environments[env]!.dbFile;
      return existsSync(f) ? Number(readFileSync(f, "utf8").trim()) : 0;
    },
    currentLink: (env, host = 0) => {
      try {
        const target = execFileSync("readlink", [join(environments[env]!.hosts[host]!.path, "current")], {
          encoding: "utf8",
        }).trim();
        return target.replace(/^releases\//, "");
      } catch {
        return null;
      }
    },
    async stop() {
      for (const env of Object.values(environments))
        for (const h of env.hosts) {
          const pidfile = join(h.path, "service.pid");
          if (existsSync(pidfile)) {
            try {
              process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
            } catch {}
          }
        }
      // Whatever still runs from the service's folders (a broken start leaves no pid file).
      for (const pid of processesUnder(dir)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Processes whose working directory is under `dir` (Linux /proc). */
export function processesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) out.push(Number(entry));
    } catch {}
  }
  return out;
}
