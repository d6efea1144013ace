import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfigJsonSchema, DEFAULT_APPROVAL_POLICY, parseConfig, UsageError } from "../../src/index.js";

const env = `
service: hello
environments:
  production:
    path: /srv/hello
    hosts:
      - address: 10.0.0.5
        port: PORT
        host_key: SHA256:abc
`;

function errorOf(text: string): string {
  try {
    parseConfig(text, { file: "relctl.yml" });
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected the config to be refused");
}

describe("relctl.yml", () => {
  it("uses the default approval policy when the file has none", () => {
    expect(parseConfig("service: hello\n").approvals).toEqual(DEFAULT_APPROVAL_POLICY);
  });

  it("reads approvals, per environment overriding the root", () => {
    const c = parseConfig(`
service: hello
approvals: { roles: [qa, { role: lead, count: 2 }], order: any }
environments:
  production:
    path: /srv/hello
    hosts: [{ address: local }]
    approvals: { allow_self_approval: true }
`);
    expect(c.approvals).toEqual({
      roles: [
        { role: "qa", count: 1 },
        { role: "lead", count: 2 },
      ],
      order: "any",
      allowSelfApproval: false,
    });
    expect(c.environments.production!.approvals.allowSelfApproval).toBe(true);
    expect(c.environments.production!.approvals.order).toBe("any");
  });

  it("names the path and the value of a wrong type", () => {
    expect(errorOf(env.replace("PORT", '"x"'))).toBe(
      'relctl.yml: environments.production.hosts[0].port: expected a number, got "x"',
    );
  });

  it.each([
    [
      "address",
      "10.0.0.5",
      "127.0.0.1;id",
      'environments.production.hosts[0].address: expected "local", a host name or an IP address',
    ],
    ["address", "10.0.0.5", "$(touch x)", "hosts[0].address: expected"],
    ["path", "/srv/hello", "$(touch x)", "environments.production.path: expected a path of letters, digits"],
    ["path", "/srv/hello", "/srv/a b;rm -rf /", "environments.production.path: expected a path"],
  ])("refuses shell syntax in a host's %s (%s → %j)", (_key, from, to, why) => {
    expect(errorOf(env.replace("PORT", "22").replace(from, JSON.stringify(to)))).toContain(why);
  });

  it.each(["local", "db-1.internal.example.com", "10.0.0.5", "::1", "[2001:db8::1]"])(
    "accepts the address %s",
    (address) => {
      const c = parseConfig(env.replace("PORT", "22").replace("10.0.0.5", JSON.stringify(address)), {
        file: "relctl.yml",
      });
      expect(c.environments.production!.hosts[0]!.address).toBe(address);
    },
  );

  it("refuses unknown keys with their path", () => {
    expect(errorOf("service: hello\napprovals:\n  rolez: [qa]\n")).toBe(
      'relctl.yml: approvals: unknown key "rolez"',
    );
  });

  it("refuses bad enum values and bad service names", () => {
    expect(errorOf("service: hello\napprovals: { order: random }\n")).toBe(
      'relctl.yml: approvals.order: expected one of "sequential", "any", got "random"',
    );
    expect(errorOf("service: Auth Service\n")).toMatch(/^relctl.yml: service: expected a service name/);
  });

  it("refuses malformed YAML in one line", () => {
    expect(errorOf("service: [hello\n")).toMatch(/^relctl.yml: not valid YAML/);
  });

  it("lets a host override path, env and health URL, and fills ${NAME} from relctl's environment", () => {
    const c = parseConfig(
      `
service: hello
repository: /srv/git/hello.git
environments:
  production:
    path: /srv/hello
    env: { DATABASE_URL: "\${PROD_DB}", PORT: "8080" }
    health: { url: "http://127.0.0.1:8080/health" }
    hosts:
      - { address: 10.0.0.1, host_key: "SHA256:x" }
      - { address: 10.0.0.2, host_key: "SHA256:y", path: /opt/hello, env: { PORT: "9090" }, health_url: "http://127.0.0.1:9090/health" }
`,
      { env: { PROD_DB: "postgres://u:pw@db/hello" } },
    );
    const [a, b] = c.environments.production!.hosts;
    expect(a).toMatchObject({
      path: "/srv/hello",
      vars: { PORT: "8080", DATABASE_URL: "postgres://u:pw@db/hello" },
      healthUrl: "http://127.0.0.1:8080/health",
      agent: true,
    });
    expect(b).toMatchObject({
      path: "/opt/hello",
      vars: { PORT: "9090" },
      healthUrl: "http://127.0.0.1:9090/health",
    });
    expect(a!.secrets).toEqual(["postgres://u:pw@db/hello"]);
  });

  it("names a missing variable and the key that needs it", () => {
    expect(() =>
      parseConfig(
        'service: hello\nenvironments:\n  stage:\n    path: /x\n    env: { DATABASE_URL: "${NOPE}" }\n    hosts: [{ address: local }]\n',
        {
          file: "relctl.yml",
          env: {},
        },
      ),
    ).toThrow("relctl.yml: environments.stage.env.DATABASE_URL: environment variable NOPE is not set");
  });

  it("refuses a repository that could be read as an option", () => {
    expect(errorOf("service: hello\nrepository: --upload-pack=touch\n")).toMatch(
      /^relctl.yml: repository: expected a git URL or path/,
    );
  });

  it("keeps the committed JSON Schema in step with the schema", () => {
    const committed = JSON.parse(readFileSync(join(import.meta.dirname, "../../relctl.schema.json"), "utf8"));
    expect(committed).toEqual(buildConfigJsonSchema());
  });
});
