import type { ServiceConfig } from "../config/load.js";
import { type Executor, type HostSession, isLocalTarget } from "../ports/executor.js";
import { forEachAtOnce } from "../runbook/at-once.js";
import { planProxyCheck } from "../runbook/blue-green.js";

export interface HostCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

/** Programs a runbook runs on every host, beyond what the configured commands need. */
const REQUIRED = ["sh", "git", "setsid", "readlink", "ln", "mv"];

/**
 * Checks each host of the config (or of one environment), an environment's hosts at once (its
 * `parallel`): reachable with the recorded host key, and the programs the runbooks run there are
 * present. Read-only; `onCheck` hears each result as it comes; the list returned is in the
 * config's order.
 */
export async function checkHosts(
  deps: { readonly executor: Executor },
  input: {
    readonly config: ServiceConfig;
    readonly environment?: string | undefined;
    readonly onCheck?: (check: HostCheck) => void;
  },
): Promise<HostCheck[]> {
  const checks: HostCheck[][] = [];
  for (const [name, env] of Object.entries(input.config.environments)) {
    if (input.environment && input.environment !== name) continue;
    const byHost = env.hosts.map((): HostCheck[] => []);
    checks.push(...byHost);
    await forEachAtOnce(env.hosts, env.parallel, async (host, i) => {
      const add = (check: string, ok: boolean, detail: string) => {
        const c = { check, ok, detail };
        byHost[i]!.push(c);
        input.onCheck?.(c);
      };
      const label = `${name}/${host.name}`;
      let session: HostSession;
      try {
        session = await deps.executor.open(host);
        add(
          `${label} reachable`,
          true,
          isLocalTarget(host)
            ? "this machine"
            : `${host.user}@${host.address}:${host.port}, host key matches`,
        );
      } catch (err) {
        add(`${label} reachable`, false, (err as Error).message);
        return;
      }
      try {
        const programs = [
          ...REQUIRED,
          ...(env.health?.from === "host" ? ["curl"] : []),
          ...(env.strategy !== "releases" ? ["docker"] : []),
          ...(host.proxy && !host.proxy.admin.startsWith("/") ? [] : host.proxy ? ["socat"] : []),
        ];
        const probe = await session.run({
          id: "doctor",
          title: "required commands",
          argv: [
            "sh",
            "-c",
            'for p in "$@"; do command -v "$p" >/dev/null 2>&1 || echo "$p"; done',
            "sh",
            ...programs,
          ],
          timeoutMs: 15_000,
        });
        const missing = probe.stdout
          .split("\n")
          .map((l) => l.trim())
          .filter(Boolean);
        add(
          `${label} commands`,
          probe.exitCode === 0 && missing.length === 0,
          missing.length ? `missing: ${missing.join(", ")}` : programs.join(", "),
        );
        if (host.proxy) {
          const proxy = await session.run(planProxyCheck(host.path, host.proxy));
          add(
            `${label} proxy`,
            proxy.exitCode === 0,
            (proxy.exitCode === 0 ? proxy.stdout : proxy.tail).trim().split("\n").at(-1) ?? "",
          );
        }
      } finally {
        await session.close();
      }
    });
  }
  return checks.flat();
}
