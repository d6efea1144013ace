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
        z.union([roleName, z.strictObject({ role: roleName, count: z.int().min(1).max(20).default(1) })]),
      )
      .min(1)
      .optional()
      .meta({
        description: "Required roles in order (default qa, devops, lead). A role may need several people.",
      }),
    order: z.enum(["sequential", "any"]).optional(),
    allow_self_approval: z.boolean().optional(),
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

export const hostSchema = z.strictObject({
  name: z.string().min(1).max(64).optional(),
  address: hostAddress.meta({ description: 'Host name or IP; "local" runs on this machine.' }),
  port: z.int().min(1).max(65535).default(22),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]{0,31}$/, { message: "expected a unix user name" })
    .optional(),
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
});

const command = z.string().min(1).max(4000);

export const commandsSchema = z.strictObject({
  migrate: command.optional().meta({ description: "Runs pending migrations up." }),
  migrate_down: command.optional().meta({ description: "Rolls migrations back to {version}." }),
  schema_version: command.optional().meta({ description: "Prints the current schema version." }),
  build: command.optional(),
  start: command.optional().meta({ description: "Starts (or restarts) the current release." }),
  stop: command.optional(),
});

export const healthSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }),
  attempts: z.int().min(1).max(100).default(5),
  interval: duration.default("20s"),
  timeout: duration.default("5s"),
  from: z.enum(["host", "relctl"]).default("host"),
  expect_version: z.boolean().default(true).meta({
    description:
      "Require the health body to name the release (v1.2.0 or 1.2.0), so an old process still answering cannot pass for the new one. Every command gets the tag as SERVICE_VERSION and RELCTL_TAG. Set false only for a health endpoint that cannot report its version.",
  }),
});

export const timeoutsSchema = z.strictObject({
  default: duration.optional(),
  fetch: duration.optional(),
  build: duration.optional(),
  migrate: duration.optional(),
  start: duration.optional(),
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

export const environmentSchema = z.strictObject({
  hosts: z.array(hostSchema).min(1),
  path: hostPath.meta({ description: "Working directory of the service on each host." }),
  strategy: z.enum(["releases", "docker-compose"]).default("releases"),
  keep: z
    .int()
    .min(1)
    .max(100)
    .default(5)
    .meta({ description: "How many past releases (or images) to keep." }),
  parallel: z.int().min(1).max(64).default(8).meta({
    description:
      "How many hosts work at once: preparation (fetch, checkout, build), a rollback's switch and health check, relctl doctor. A deploy still switches host by host.",
  }),
  env: z.record(z.string().regex(/^[A-Z_][A-Z0-9_]*$/), z.string()).default({}),
  commands: commandsSchema.default({}),
  health: healthSchema.optional(),
  timeouts: timeoutsSchema.default({}),
  approvals: approvalsSchema.optional(),
  gate: gateSchema.optional(),
  freeze: z
    .array(
      z.strictObject({
        from: z.iso.datetime({ offset: true }).meta({ description: 'Start, e.g. "2026-12-24T00:00:00Z".' }),
        to: z.iso.datetime({ offset: true }).meta({ description: "End (exclusive)." }),
        reason: z.string().min(1).max(200),
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
    $schema: z.string().optional(),
    service: serviceName,
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
    environments: z.record(environmentName, environmentSchema).default({}),
  })
  .meta({ title: "relctl.yml", description: "relctl service configuration" });

export type RawConfig = z.output<typeof configSchema>;
export type RawEnvironment = z.output<typeof environmentSchema>;
export type RawHost = z.output<typeof hostSchema>;

/** JSON Schema for editors (committed as relctl.schema.json; a test keeps it current). */
export function buildConfigJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
