import { createHmac } from "node:crypto";
import { parseConfig } from "@relctl/core";
import { describe, expect, it } from "vitest";
import { applyHostCredentials, findHostKeys, parseKnownHosts } from "../src/host-credentials.js";

const ED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const RSA = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7";

function hashed(name: string): string {
  const salt = Buffer.from("0123456789abcdefghij");
  const hash = createHmac("sha1", salt).update(name).digest();
  return `|1|${salt.toString("base64")}|${hash.toString("base64")}`;
}

describe("known_hosts", () => {
  const entries = parseKnownHosts(
    [
      "# scanned",
      `web-1.example,10.0.0.5 ${RSA}`,
      `web-1.example ${ED}`,
      `[db.example]:2222 ${ED}`,
      `${hashed("[hidden.example]:2200")} ${ED}`,
      `*.example ${ED}`,
      `@cert-authority *.example ${ED}`,
      "garbage",
    ].join("\n"),
  );

  it("finds plain, bracketed-port and hashed entries; skips wildcards, markers and junk", () => {
    expect(findHostKeys(entries, "web-1.example", 22)).toEqual([RSA, ED]);
    expect(findHostKeys(entries, "10.0.0.5", 22)).toEqual([RSA]);
    expect(findHostKeys(entries, "db.example", 2222)).toEqual([ED]);
    expect(findHostKeys(entries, "db.example", 22)).toEqual([]);
    expect(findHostKeys(entries, "hidden.example", 2200)).toEqual([ED]);
    expect(findHostKeys(entries, "other.example", 22)).toEqual([]);
  });

  const config = parseConfig(
    `service: hello
repository: git@example.com:acme/hello.git
environments:
  stage:
    hosts:
      - { name: web-1, address: web-1.example }
      - { name: db, address: db.example, port: 2222, host_key: "SHA256:fromTheFile" }
      - { address: local }
    path: /srv/hello
`,
    { file: "/w/relctl.yml" },
  );

  it("gives SSH hosts the job's key and the preferred known key, keeping relctl.yml's own host keys", () => {
    const out = applyHostCredentials(config, "stage", {
      privateKeyPath: "/tmp/key",
      knownHosts: `web-1.example ${RSA}\nweb-1.example ${ED}\n[db.example]:2222 ${RSA}\n`,
    });
    const [web, db, local] = out.environments.stage!.hosts;
    expect(web).toMatchObject({ privateKeyPath: "/tmp/key", hostKey: ED });
    expect(db).toMatchObject({ privateKeyPath: "/tmp/key", hostKey: "SHA256:fromTheFile" });
    expect(local).toEqual(config.environments.stage!.hosts[2]);
  });

  it("refuses an SSH host without a key, saying how to get one", () => {
    expect(() => applyHostCredentials(config, "stage", { knownHosts: "" })).toThrow(
      "known-hosts: no key for web-1.example (host web-1 of stage)",
    );
  });
});
