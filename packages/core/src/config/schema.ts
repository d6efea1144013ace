import { z } from "zod";
import { parseDuration } from "./duration.js";

/**
 * The one schema of relctl.yml. Strict: unknown keys are errors. Keys are snake_case as users
 * write them; `normalizeConfig` (./load.ts) turns the parsed file into the camelCase model.
 */

const duration = z
  .union([z.string(), z.number()])
  .refine((v) => parseDuration(v) !== undefined, {
    message: 'expected a duration such as "20s", "5m" or "500ms"',
  })
  .meta({ description: 'A duration: "500ms", "20s", "5m", "1h", or a number of seconds.' });

const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, { message: "expected a service name: a-z 0-9 . _ - (at most 63)" });

const environmentName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,31}$/, { message: "expected an environment name: a-z 0-9 _ - (at most 32)" });

const roleName = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, { message: "expected a role name such as qa" });

export const approvalsSchema = z
  .strictObject({
    roles: z
      .array(
        z.union([
          roleName,
          z.strictObject({
            role: roleName.meta({
              description: "The role, as members hold it (relctl members add … --role).",
            }),
            count: z
              .int()
              .min(1)
              .max(20)
              .default(1)
              .meta({ description: "How many different people of this role must approve." }),
          }),
        ]),
      )
      .min(1)
      .optional()
      .meta({
        description: "Required roles in order (default qa, devops, lead). A role may need several people.",
      }),
    order: z.enum(["sequential", "any"]).optional().meta({
      description:
        "sequential: each role approves after the one before it, in the order of roles; any: in any order (default sequential).",
    }),
    allow_self_approval: z.boolean().optional().meta({
      description: "Whether the person who initiated a release may approve it too (default false).",
    }),
  })
  .meta({ description: "Who must approve a release before it may go to production." });

/** A path on a host: letters, digits and . _ / ~ @ + - : = , only — never shell syntax. */
const hostPath = z
  .string()
  .min(1)
  .max(4096)
  .regex(/^[A-Za-z0-9._/~@+\-:=,]+$/, {
    message: "expected a path of letters, digits and . _ / ~ @ + - : = , (no spaces or shell syntax)",
  });

/** "local", a host name (RFC 1123) or an IPv4 / IPv6 address. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6 = /^\[?[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*\]?$/;
const hostAddress = z
  .string()
  .min(1)
  .max(255)
  .refine((a) => a === "local" || HOST_NAME.test(a) || IPV4.test(a) || IPV6.test(a), {
    message: 'expected "local", a host name or an IP address',
  });

const port = z.int().min(1).max(65535);

/** HAProxy's runtime API: "127.0.0.1:9999" (stats socket ipv4@…) or an absolute socket path. */
const proxyAdmin = z
  .string()
  .regex(/^(\/[A-Za-z0-9._/@+-]+|[A-Za-z0-9.-]+:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5})$/, {
    message: 'expected host:port such as "127.0.0.1:9999" or an absolute socket path',
  });

/** The two ports a service listens on in turn (blue, green). */
const slotPorts = z
  .tuple([port, port])
  .refine(([blue, green]) => blue !== green, { message: "expected two different ports (blue, green)" });

export const proxySchema = z
  .strictObject({
    haproxy: z
      .strictObject({
        admin: proxyAdmin.meta({
          description:
            'HAProxy\'s runtime API on the host: "127.0.0.1:9999" (stats socket ipv4@127.0.0.1:9999 level admin) or a socket path (needs socat on the host).',
        }),
        backend: z
          .string()
          .regex(/^[A-Za-z0-9._-]{1,64}$/, { message: "expected a backend name" })
          .meta({ description: "The backend whose servers blue and green are the service's two ports." }),
        state_file: hostPath.optional().meta({
          description:
            "HAProxy's server-state-file: relctl writes `show servers state` there after each switch, so a reload keeps the live side.",
        }),
      })
      .meta({ description: "The HAProxy on each host that relctl switches through its runtime API." }),
    ports: slotPorts.meta({
      description: "The ports the service listens on in turn, blue then green (PORT in its environment).",
    }),
    drain: duration.default("30s").meta({
      description:
        "How long the old instance may finish its requests after the switch before it is stopped (it stops sooner once idle).",
    }),
  })
  .meta({
    description:
      "Blue/green behind a proxy: the new release starts beside the old one on the other port, is health-checked directly, then the proxy switches to it and the old one drains and stops.",
  });

/** A number of hosts, or a share of them ("25%", rounded up, at least one). */
const hostCount = z.union([
  z.int().min(1).max(1000),
  z.string().regex(/^(100|[1-9]\d?)%$/, { message: 'expected a number of hosts or a share such as "25%"' }),
]);

export const analysisSchema = z
  .strictObject({
    prometheus: z
      .url({ protocol: /^https?$/ })
      .meta({ description: "The Prometheus server (its HTTP API)." }),
    query: z.string().min(1).max(4000).meta({
      description:
        "PromQL; {service}, {environment}, {tag} and {hosts} (the baked hosts' names, a regex alternation) are filled in. Every value it returns must be within min and max.",
    }),
    max: z.number().optional().meta({ description: "The highest value the query may return." }),
    min: z.number().optional().meta({ description: "The lowest value the query may return." }),
    interval: duration.default("10s").meta({ description: "How often the query runs during the bake." }),
    failure_limit: z.int().min(0).max(100).default(0).meta({
      description:
        "Measurements out of bounds allowed before the rollout aborts. An empty answer or an unreachable server is inconclusive; a bake with no conclusive measurement at all fails.",
    }),
  })
  .refine((a) => a.max !== undefined || a.min !== undefined, { message: "expected max, min or both" });

export const rolloutSchema = z
  .strictObject({
    canary: hostCount.optional().meta({
      description: "The first batch: this many hosts switch first and bake (default: one batch).",
    }),
    bake: duration.optional().meta({
      description: "How long the canary runs, health-probed (and analysed), before the other hosts switch.",
    }),
    batch: hostCount.default(1).meta({ description: "How many hosts switch at once after the canary." }),
    analysis: analysisSchema.optional().meta({
      description:
        "A Prometheus query checked during the bake: a value out of bounds more than failure_limit times aborts the rollout.",
    }),
  })
  .meta({
    description:
      "How a deploy switches its hosts: a canary batch, a bake with health probes and a Prometheus analysis, then the other hosts in batches. Any failure rolls every switched host back.",
  });

export const hostSchema = z.strictObject({
  name: z.string().min(1).max(64).optional().meta({
    description:
      'How relctl names the host in its output, records and locks (default: its address; "local-<n>" for address: local).',
  }),
  address: hostAddress.meta({ description: 'Host name or IP; "local" runs on this machine.' }),
  port: z.int().min(1).max(65535).default(22).meta({ description: "The host's SSH port." }),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, { message: "expected a unix user name" })
    .optional()
    .meta({
      description:
        "The user relctl logs in as over SSH (default root); it runs every command and owns the service's folder.",
    }),
  private_key: z.string().min(1).optional().meta({ description: "Path to the private key file." }),
  agent: z.boolean().optional().meta({ description: "Authenticate with the SSH agent ($SSH_AUTH_SOCK)." }),
  password_env: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/)
    .optional()
    .meta({ description: "Name of the environment variable holding the SSH password (e.g. PROD_PASSWORD)." }),
  host_key: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'The host\'s public key ("ssh-ed25519 AAAA…") or fingerprint ("SHA256:…").' }),
  path: hostPath.optional().meta({ description: "This host's working directory, if not the environment's." }),
  env: z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string())
    .optional()
    .meta({ description: "Variables for this host, over the environment's." }),
  health_url: z
    .url({ protocol: /^https?$/ })
    .optional()
    .meta({ description: "This host's health URL, if not the environment's." }),
  proxy: z
    .strictObject({
      admin: proxyAdmin.optional().meta({
        description: "This host's HAProxy runtime API, if not the environment's proxy.haproxy.admin.",
      }),
      ports: slotPorts
        .optional()
        .meta({ description: "This host's blue and green ports, if not the environment's proxy.ports." }),
    })
    .optional()
    .meta({ description: "This host's proxy runtime API address or ports, if not the environment's." }),
});

const command = z.string().min(1).max(4000);

export const commandsSchema = z.strictObject({
  migrate: command.optional().meta({ description: "Runs pending migrations up." }),
  migrate_down: command.optional().meta({ description: "Rolls migrations back to {version}." }),
  schema_version: command.optional().meta({ description: "Prints the current schema version." }),
  build: command.optional().meta({
    description:
      "Builds the release in its folder after the checkout (e.g. npm ci), on every host before any switches.",
  }),
  start: command.optional().meta({ description: "Starts (or restarts) the current release." }),
  stop: command.optional().meta({
    description:
      "Stops a release's instance (blue/green behind a proxy: the old slot, once drained; it gets the same PORT and PIDFILE as start).",
  }),
});

export const healthSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).meta({
    description:
      "The URL to probe after a start (2xx is healthy), as seen from where `from` says; a host's health_url overrides it.",
  }),
  attempts: z.int().min(1).max(100).default(5).meta({
    description:
      "With interval, how long a host may take to answer healthy: (attempts − 1) × interval after the first probe; then it is unhealthy and the deploy rolls back.",
  }),
  interval: duration.default("20s").meta({
    description:
      "The longest wait between two probes (they start 100ms apart and the waits double up to it); see attempts.",
  }),
  timeout: duration.default("5s").meta({ description: "How long one probe may take." }),
  from: z.enum(["host", "relctl"]).default("host").meta({
    description:
      "host: curl runs on the host (the URL may be 127.0.0.1 there); relctl: this machine requests the URL itself.",
  }),
  expect_version: z.boolean().default(true).meta({
    description:
      "Require the health body to name the release (v1.2.0 or 1.2.0), so an old process still answering cannot pass for the new one. Every command gets the tag as SERVICE_VERSION and RELCTL_TAG. Set false only for a health endpoint that cannot report its version.",
  }),
});

export const timeoutsSchema = z.strictObject({
  default: duration
    .optional()
    .meta({ description: "How long a step may run before it is ended, unless said below (default 10m)." }),
  fetch: duration.optional().meta({ description: "The git fetch and checkout of a release." }),
  build: duration.optional().meta({ description: "commands.build." }),
  migrate: duration.optional().meta({ description: "commands.migrate and commands.migrate_down." }),
  start: duration.optional().meta({ description: "commands.start (and stop)." }),
});

export const gateSchema = z
  .strictObject({
    approvals: z.boolean().optional().meta({
      description:
        "Whether a release needs its approvals (manual_test_passed) before it may be deployed here. Default: true for every environment but the stage.",
    }),
    after: environmentName.optional().meta({
      description:
        "The environment a release must have passed first. Default: the stage environment, for an environment that needs approvals.",
    }),
  })
  .meta({
    description:
      "What a release must have done before it is deployed here. Every environment but the stage needs approvals unless it says approvals: false.",
  });

const ENV_DESCRIPTION = `Variables every command gets. \${NAME} takes a value from relctl's environment (treated as a secret: redacted in output and records).`;

export const environmentSchema = z.strictObject({
  hosts: z.array(hostSchema).min(1).meta({
    description:
      "The hosts of this environment, reached over SSH (or address: local). A deploy changes them all.",
  }),
  path: hostPath.meta({ description: "Working directory of the service on each host." }),
  strategy: z.enum(["releases", "docker-compose", "docker"]).default("releases").meta({
    description:
      "releases: a folder per tag under releases/ and a current link; docker: an image <service>:<tag> built from the checkout, run as the container <service>; docker-compose: images <service>:<tag> from the checkout's compose file, started in place with docker compose up.",
  }),
  keep: z
    .int()
    .min(1)
    .max(100)
    .default(5)
    .meta({ description: "How many past releases (or images) to keep." }),
  parallel: z.int().min(1).max(64).default(8).meta({
    description:
      "How many hosts work at once: preparation (fetch, checkout, build), the hosts of one rollout batch, a rollback's switch and health check, relctl doctor.",
  }),
  env: z
    .record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string())
    .default({})
    .meta({ description: ENV_DESCRIPTION }),
  commands: commandsSchema.default({}).meta({
    description:
      "What relctl runs on the hosts, each with sh -c in the release's folder (RELCTL_RELEASE_DIR; RELCTL_PATH is the environment's path).",
  }),
  health: healthSchema.optional().meta({
    description:
      "How a started release proves it is up before the deploy goes on (without it, nothing is checked after a start).",
  }),
  proxy: proxySchema.optional(),
  rollout: rolloutSchema.optional(),
  timeouts: timeoutsSchema.default({}).meta({ description: "How long each kind of step may run." }),
  approvals: approvalsSchema.optional(),
  gate: gateSchema.optional(),
  freeze: z
    .array(
      z.strictObject({
        from: z.iso.datetime({ offset: true }).meta({ description: 'Start, e.g. "2026-12-24T00:00:00Z".' }),
        to: z.iso.datetime({ offset: true }).meta({ description: "End (exclusive)." }),
        reason: z.string().min(1).max(200).meta({ description: "Why, shown to whoever is refused." }),
      }),
    )
    .optional()
    .meta({
      description:
        "Freeze windows: no deploy to this environment starts inside one, unless a lead overrides it (relctl deploy --override-freeze <reason>, audited).",
    }),
});

export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: "The JSON Schema of this file, for editors." }),
    service: serviceName.meta({
      description: "The service's name, as commands and the chat name it (a-z 0-9 . _ -).",
    }),
    repository: z
      .string()
      .regex(/^[^-\s]\S*$/, { message: "expected a git URL or path (no spaces, not starting with -)" })
      .optional()
      .meta({ description: "git URL or path of the service's repository." }),
    approvals: approvalsSchema.optional(),
    stage: environmentName.optional().meta({
      description:
        "The stage environment: where `relctl release` deploys a new tag and rehearses its rollback. Default: the environment named stage, if there is one.",
    }),
    environments: z
      .record(environmentName, environmentSchema)
      .default({})
      .meta({ description: "The environments by name (stage, production, …)." }),
  })
  .meta({ title: "relctl.yml", description: "relctl service configuration" });

export type RawConfig = z.output<typeof configSchema>;
export type RawEnvironment = z.output<typeof environmentSchema>;
export type RawHost = z.output<typeof hostSchema>;

/** JSON Schema for editors (committed as relctl.schema.json; a test keeps it current). */
export function buildConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
