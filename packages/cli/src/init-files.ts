import { UsageError } from "@relctl/core";

/** What `relctl init` writes a relctl.yml from. */
export interface InitAnswers {
  readonly service: string;
  readonly repository: string;
  readonly hosts: readonly HostSpec[];
  readonly stageHosts: readonly HostSpec[];
  readonly path: string;
  readonly stagePath: string;
  readonly privateKey?: string;
  readonly build?: string;
  readonly start?: string;
  readonly healthUrl?: string;
}

export interface HostSpec {
  readonly user: string;
  readonly address: string;
  readonly port: number;
}

/** `[user@]address[:port]`, e.g. deploy@10.0.0.5:2222. */
export function parseHostSpec(value: string, field: string, defaultUser: string): HostSpec {
  const m = /^(?:([A-Za-z0-9._-]{1,64})@)?([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:]+\])(?::(\d{1,5}))?$/.exec(
    value.trim(),
  );
  const port = m?.[3] === undefined ? 22 : Number(m[3]);
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(
      "invalid_host",
      `${field}: "${value}" is not a host (expected [user@]address[:port], e.g. deploy@10.0.0.5:22)`,
    );
  }
  return { user: m[1] ?? defaultUser, address: m[2]!.replace(/^\[|\]$/g, ""), port };
}

const q = (s: string) => JSON.stringify(s);
const envPrefix = (service: string) => service.toUpperCase().replace(/[^A-Z0-9]+/g, "_");

function hostsYaml(hosts: readonly HostSpec[], privateKey: string | undefined): string {
  return hosts
    .map(
      (h) =>
        `      - address: ${q(h.address)}\n        port: ${h.port}\n        user: ${q(h.user)}${privateKey ? `\n        private_key: ${q(privateKey)}` : ""}`,
    )
    .join("\n");
}

function environmentYaml(
  a: InitAnswers,
  name: "stage" | "production",
  hosts: readonly HostSpec[],
  path: string,
): string {
  const prefix = envPrefix(a.service);
  const cmd = (key: string, value: string | undefined, example: string) =>
    value ? `      ${key}: ${q(value)}` : `      # ${key}: ${example}`;
  return `  ${name}:
    # Where it runs (\`relctl hosts trust ${name}\` records each host's key, \`relctl doctor\` checks them).
    hosts:
${hostsYaml(hosts, a.privateKey)}
    # Each release is checked out under <path>/releases/<tag>; <path>/current points at the live one.
    path: ${q(path)}
    strategy: releases
    keep: ${name === "stage" ? 3 : 5}
    # Variables for the commands; \${NAME} is read from relctl's environment (a CI secret) when a
    # command works on this environment, and never printed:
    # env:
    #   DATABASE_URL: \${${prefix}_${name.toUpperCase()}_DATABASE_URL}
    ${a.build || a.start ? "" : "# "}commands:
${cmd("build", a.build, "npm ci --omit=dev")}
      # migrate: node migrate.mjs up
      # migrate_down: node migrate.mjs down {version}
      # schema_version: node migrate.mjs version
${cmd("start", a.start, "sh bin/restart.sh")}
${
  a.healthUrl
    ? `    health:\n      url: ${q(a.healthUrl)}\n      attempts: 5\n      interval: 2s`
    : "    # health:\n    #   url: http://127.0.0.1:8080/health   # must answer 200 naming the tag"
}
`;
}

/** A commented relctl.yml: stage, then production behind the approvals. */
export function renderInitConfig(a: InitAnswers): string {
  return `# relctl.yml of ${a.service}, written by \`relctl init\`. Every key: README "relctl.yml", or the
# JSON Schema (packages/core/relctl.schema.json) for an editor's completion.
service: ${q(a.service)}
# The git repository each host fetches tags from.
repository: ${q(a.repository)}

# Who approves a release on stage before it may go to production (relctl members add).
approvals:
  roles: [qa, devops, lead]
  order: sequential

environments:
  # Every new tag is deployed here first and its rollback rehearsed (relctl release).
${environmentYaml(a, "stage", a.stageHosts, a.stagePath)}
  # Needs the approvals above; an unhealthy deploy rolls back by itself (relctl deploy -e production).
${environmentYaml(a, "production", a.hosts, a.path)}`;
}

/** An example workflow with the sample service's names replaced by this service's. */
export function renderWorkflow(example: string, service: string): string {
  return example.replaceAll("HELLO_", `${envPrefix(service)}_`);
}
