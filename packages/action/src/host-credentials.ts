import { createHmac } from "node:crypto";
import { type EnvironmentHost, type ServiceConfig, UsageError } from "@relctl/core";

/** One usable line of a known_hosts file. */
export interface KnownHost {
  /** Plain host patterns ("example.com", "[example.com]:2222"), or a hashed one. */
  readonly hosts: readonly string[];
  readonly hashed?: { readonly salt: Buffer; readonly hash: Buffer };
  /** "ssh-ed25519 AAAA…" */
  readonly key: string;
}

/**
 * Parses known_hosts text (as `ssh-keyscan` prints it). Plain and hashed (`|1|…`) host entries
 * are read; marker lines (@cert-authority, @revoked), comments and wildcard patterns are skipped.
 */
export function parseKnownHosts(text: string): KnownHost[] {
  const out: KnownHost[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#") || line.startsWith("@")) continue;
    const [hostField, type, base64] = line.split(/\s+/);
    if (!hostField || !type || !base64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) continue;
    const key = `${type} ${base64}`;
    const hashed = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(hostField);
    if (hashed) {
      out.push({
        hosts: [],
        hashed: { salt: Buffer.from(hashed[1]!, "base64"), hash: Buffer.from(hashed[2]!, "base64") },
        key,
      });
      continue;
    }
    const hosts = hostField.split(",").filter((h) => h && !/[*?!]/.test(h));
    if (hosts.length) out.push({ hosts, key });
  }
  return out;
}

/** How known_hosts names a host: "name" on port 22, "[name]:port" otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** The host key lines known_hosts gives for a host (all of its key types). */
export function findHostKeys(entries: readonly KnownHost[], address: string, port: number): string[] {
  const name = knownHostsName(address, port);
  return entries
    .filter((e) =>
      e.hashed
        ? createHmac("sha1", e.hashed.salt).update(name).digest().equals(e.hashed.hash)
        : e.hosts.includes(name),
    )
    .map((e) => e.key);
}

const PREFERRED = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "rsa-sha2-512",
  "ssh-rsa",
];

function preferredKey(keys: readonly string[]): string | undefined {
  return [...keys].sort((a, b) => rank(a.split(" ")[0]!) - rank(b.split(" ")[0]!))[0];
}

function rank(type: string): number {
  const i = PREFERRED.indexOf(type);
  return i < 0 ? PREFERRED.length : i;
}

/**
 * Gives the environment's SSH hosts the job's credentials: the private key file written from the
 * `ssh-private-key` input, and each host's key from `known-hosts` where relctl.yml has none
 * (a `host_key` in relctl.yml, reviewed with the code, wins). Every SSH host must end with a key.
 */
export function applyHostCredentials(
  config: ServiceConfig,
  environment: string,
  credentials: { readonly privateKeyPath?: string; readonly knownHosts?: string },
): ServiceConfig {
  const env = config.environments[environment];
  if (!env) return config;
  const known = credentials.knownHosts ? parseKnownHosts(credentials.knownHosts) : [];
  const hosts = env.hosts.map((host): EnvironmentHost => {
    if (host.address === "local") return host;
    let next: EnvironmentHost = host;
    if (credentials.privateKeyPath) next = { ...next, privateKeyPath: credentials.privateKeyPath };
    if (!next.hostKey) {
      const key = preferredKey(findHostKeys(known, host.address, host.port));
      if (key) next = { ...next, hostKey: key };
    }
    if (!next.hostKey) {
      throw new UsageError(
        "host_key_missing",
        `known-hosts: no key for ${knownHostsName(host.address, host.port)} (host ${host.name} of ${environment})`,
        {
          hint: `add the output of \`ssh-keyscan${host.port === 22 ? "" : ` -p ${host.port}`} ${host.address}\` to known-hosts, or host_key to relctl.yml`,
        },
      );
    }
    return next;
  });
  return { ...config, environments: { ...config.environments, [environment]: { ...env, hosts } } };
}

/** Values relctl.yml drew from the job's environment (`${VAR}`, SSH passwords): masked in the log. */
export function configSecrets(config: ServiceConfig): string[] {
  const out: string[] = [];
  for (const env of Object.values(config.environments)) {
    for (const host of env.hosts) {
      out.push(...host.secrets);
      if (host.password) out.push(host.password);
    }
  }
  return out.filter((s) => s.length >= 4);
}
