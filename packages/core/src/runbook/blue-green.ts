import { posix } from "node:path";
import type { ProxyConfig } from "../config/load.js";
import type { Step } from "../ports/executor.js";
import { layoutOf } from "./layout.js";
import type { HostPlanContext } from "./strategy.js";

/**
 * Blue/green behind a proxy, as three steps per host and one to finish:
 *
 *   slot-start    starts the release on the idle slot (or keeps the instance of it that still
 *                 runs: a rollback to a kept instance restarts nothing); prints "<slot> <port> …"
 *   (health)      relctl checks the new instance directly, on that port
 *   proxy-switch  the proxy sends new requests to it; the old one drains (it keeps its requests)
 *   retire        once the old one is idle (or after `drain`), stops it and takes it out
 *
 * State on the host, under <path>/.relctl/slots/: live (the slot the proxy serves), next (the
 * slot slot-start picked), <slot>.tag, <slot>.pid (the instance's PIDFILE), switched-at.
 * The scripts are constant; every value reaches them in their environment (RELCTL_*), never as
 * shell text.
 *
 * The proxy is behind a few shell functions (PROXY_FUNCTIONS) so another proxy can be added:
 * px_use NEW OLD (serve NEW, drain OLD), px_busy SLOT (requests still on SLOT), px_off SLOT (no
 * traffic at all), px_save (persist what a reload must keep).
 */

/** HAProxy through its runtime API (socat when there, else bash's /dev/tcp for a TCP address). */
const HAPROXY_FUNCTIONS = [
  "hap() {",
  '  case "$RELCTL_PROXY_ADMIN" in /*) addr="UNIX-CONNECT:$RELCTL_PROXY_ADMIN" ;; *) addr="TCP:$RELCTL_PROXY_ADMIN" ;; esac',
  "  if command -v socat >/dev/null 2>&1; then",
  '    printf "%s\\n" "$1" | socat -t 5 - "$addr"',
  "  else",
  '    case "$RELCTL_PROXY_ADMIN" in /*) echo "socat is needed to reach HAProxy at $RELCTL_PROXY_ADMIN" >&2; return 127 ;; esac',
  '    bash -c \'exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1; printf "%s\\n" "$2" >&3; cat <&3\' sh "$RELCTL_PROXY_ADMIN" "$1"',
  "  fi",
  "}",
  // A command that answers nothing on success, or its error.
  'hap_do() { out=$(hap "$1") || { echo "HAProxy at $RELCTL_PROXY_ADMIN did not answer" >&2; return 1; }',
  '  out=$(printf "%s" "$out" | tr -d "\\r" | sed "/^[[:space:]]*$/d")',
  '  [ -z "$out" ] || { echo "HAProxy: $1: $out" >&2; return 1; }; }',
  // Field $2 of server $1's line in `show stat` (5 scur, 3 qcur, 18 status).
  'px_field() { hap "show stat" | tr -d "\\r" | awk -F, -v b="$RELCTL_PROXY_BACKEND" -v s="$1" -v f="$2" \'$1==b && $2==s {print $f}\'; }',
  "px_use() {",
  '  hap_do "set server $RELCTL_PROXY_BACKEND/$1 state ready" || return 1',
  // With health checks configured in HAProxy, wait until HAProxy too sees the new side up.
  "  i=0",
  "  while :; do",
  '    st=$(px_field "$1" 18)',
  '    case "$st" in UP*|"no check") break ;; "") echo "HAProxy: no server $1 in backend $RELCTL_PROXY_BACKEND" >&2; return 1 ;; esac',
  '    i=$((i + 1)); [ "$i" -lt 150 ] || { echo "HAProxy: server $1 is $st, not UP" >&2; return 1; }',
  "    sleep 0.1",
  "  done",
  '  [ "$2" = "$1" ] || hap_do "set server $RELCTL_PROXY_BACKEND/$2 state drain"',
  "}",
  'px_busy() { s=$(px_field "$1" 5); q=$(px_field "$1" 3); echo $(( ${s:-0} + ${q:-0} )); }',
  'px_off() { hap_do "set server $RELCTL_PROXY_BACKEND/$1 state maint"; }',
  "px_save() {",
  '  [ -n "${RELCTL_PROXY_STATE_FILE:-}" ] || return 0',
  '  hap "show servers state" >"$RELCTL_PROXY_STATE_FILE.tmp" && mv -f "$RELCTL_PROXY_STATE_FILE.tmp" "$RELCTL_PROXY_STATE_FILE"',
  "}",
].join("\n");

/** What every script shares: the slot folder, ports, liveness. */
const SLOT_FUNCTIONS = [
  'd="$RELCTL_SLOTS"',
  'port_of() { if [ "$1" = blue ]; then echo "$RELCTL_BLUE_PORT"; else echo "$RELCTL_GREEN_PORT"; fi; }',
  'other() { if [ "$1" = blue ]; then echo green; else echo blue; fi; }',
  // kill -0 fails with EPERM for another user's process (a container's, as a docker-group user):
  // /proc still shows it.
  'alive() { [ -s "$d/$1.pid" ] || return 1; p=$(cat "$d/$1.pid"); kill -0 "$p" 2>/dev/null || [ -d "/proc/$p" ]; }',
  'on_slot() { export RELCTL_SLOT="$1" PORT="$(port_of "$1")" PIDFILE="$d/$1.pid"; }',
].join("\n");

/**
 * $1: the start text, $2: the stop text. Keeps an instance of RELCTL_TAG that still runs, else
 * starts it on the slot the proxy does not serve (stopping what ran there first).
 */
const SLOT_START = [
  "set -u",
  SLOT_FUNCTIONS,
  'mkdir -p "$d"',
  "for s in blue green; do",
  '  if [ "$(cat "$d/$s.tag" 2>/dev/null)" = "$RELCTL_TAG" ] && alive "$s"; then',
  '    echo "$s" >"$d/next"; echo "$s $(port_of "$s") kept"; exit 0',
  "  fi",
  "done",
  'live=$(cat "$d/live" 2>/dev/null || true)',
  's=$(other "${live:-green}")',
  'on_slot "$s"',
  'if alive "$s"; then sh -c "$2" || { echo "could not stop the instance on the $s slot" >&2; exit 1; }; fi',
  'rm -f "$d/$s.tag"',
  'sh -c "$1" || exit $?',
  'printf "%s\\n" "$RELCTL_TAG" >"$d/$s.tag"',
  'echo "$s" >"$d/next"',
  'echo "$s $PORT started"',
].join("\n");

/** Switches the proxy to the slot slot-start picked, then the `current` link ($1: link target). */
const PROXY_SWITCH = (functions: string) =>
  [
    "set -u",
    SLOT_FUNCTIONS,
    functions,
    'new=$(cat "$d/next" 2>/dev/null || true)',
    '[ -n "$new" ] && [ "$(cat "$d/$new.tag" 2>/dev/null)" = "$RELCTL_TAG" ] || { echo "no instance of $RELCTL_TAG was started here" >&2; exit 1; }',
    'old=$(other "$new")',
    'px_use "$new" "$old" || exit 1',
    'if ! alive "$old"; then px_off "$old" || true; fi',
    'echo "$new" >"$d/live.next" && mv -f "$d/live.next" "$d/live"',
    'date +%s >"$d/switched-at"',
    'ln -sfn "$1" "$RELCTL_CURRENT.next" && mv -Tf "$RELCTL_CURRENT.next" "$RELCTL_CURRENT"',
    "px_save || true",
    'echo "$new $(port_of "$new") live"',
  ].join("\n");

/** Stops the instance the proxy no longer serves, once idle or after the drain ($1: the stop text). */
const RETIRE = (functions: string) =>
  [
    "set -u",
    SLOT_FUNCTIONS,
    functions,
    'live=$(cat "$d/live" 2>/dev/null || true)',
    '[ -n "$live" ] || exit 0',
    'old=$(other "$live")',
    'if alive "$old"; then',
    '  deadline=$(( $(cat "$d/switched-at" 2>/dev/null || date +%s) + RELCTL_DRAIN_SECONDS ))',
    '  while [ "$(date +%s)" -lt "$deadline" ]; do',
    '    [ "$(px_busy "$old")" -gt 0 ] || break',
    "    sleep 0.2",
    "  done",
    '  px_off "$old" || true',
    '  on_slot "$old"',
    '  sh -c "$1" || { echo "could not stop the instance on the $old slot" >&2; exit 1; }',
    "else",
    '  px_off "$old" || true',
    "fi",
    "px_save || true",
    'echo "$old stopped; $live live"',
  ].join("\n");

/** Stops the instance in $PIDFILE when no stop command is configured. */
export const DEFAULT_SLOT_STOP = [
  '[ -s "$PIDFILE" ] || exit 0',
  'pid=$(cat "$PIDFILE")',
  'kill "$pid" 2>/dev/null || { rm -f "$PIDFILE"; exit 0; }',
  "i=0",
  'while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done',
  'kill -9 "$pid" 2>/dev/null || true',
  'rm -f "$PIDFILE"',
].join("\n");

export function slotsDir(path: string): string {
  return posix.join(layoutOf(path).state, "slots");
}

function proxyEnv(ctx: HostPlanContext, proxy: ProxyConfig): Record<string, string> {
  return {
    RELCTL_SLOTS: slotsDir(ctx.path),
    RELCTL_BLUE_PORT: String(proxy.ports[0]),
    RELCTL_GREEN_PORT: String(proxy.ports[1]),
    RELCTL_PROXY_ADMIN: proxy.admin,
    RELCTL_PROXY_BACKEND: proxy.backend,
    RELCTL_PROXY_STATE_FILE: proxy.stateFile ?? "",
    RELCTL_DRAIN_SECONDS: String(Math.ceil(proxy.drainMs / 1000)),
    RELCTL_CURRENT: layoutOf(ctx.path).current,
  };
}

/** The text of a `sh -c` step (or its argv, quoted, for one that is not). */
function textOf(step: Step): string {
  if (step.argv[0] === "sh" && step.argv[1] === "-c" && step.argv.length === 3) return step.argv[2]!;
  return step.argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
}

/** Starts `tag` beside the live instance (see SLOT_START); the last line: "<slot> <port> started|kept". */
export function planSlotStart(
  ctx: HostPlanContext,
  proxy: ProxyConfig,
  tag: string,
  start: Step,
  stop: Step | undefined,
): Step {
  return {
    ...start,
    id: "slot-start",
    title: `start ${tag} beside the live release (${start.title})`,
    argv: ["sh", "-c", SLOT_START, "sh", textOf(start), stop ? textOf(stop) : DEFAULT_SLOT_STOP],
    env: { ...start.env, ...proxyEnv(ctx, proxy), RELCTL_TAG: tag },
  };
}

export function planProxySwitch(ctx: HostPlanContext, proxy: ProxyConfig, tag: string): Step {
  const l = layoutOf(ctx.path);
  return {
    id: "proxy-switch",
    title: `${proxy.kind} ${proxy.backend} → ${tag}; current → releases/${tag}`,
    argv: ["sh", "-c", PROXY_SWITCH(HAPROXY_FUNCTIONS), "sh", posix.relative(l.root, l.release(tag))],
    env: { ...proxyEnv(ctx, proxy), RELCTL_TAG: tag },
    timeoutMs: 30_000,
  };
}

export function planRetire(
  ctx: HostPlanContext,
  proxy: ProxyConfig,
  tag: string,
  stop: Step | undefined,
): Step {
  return {
    ...(stop ?? {}),
    id: "retire",
    title: `stop the old instance once drained (at most ${Math.ceil(proxy.drainMs / 1000)}s)`,
    argv: ["sh", "-c", RETIRE(HAPROXY_FUNCTIONS), "sh", stop ? textOf(stop) : DEFAULT_SLOT_STOP],
    env: { ...stop?.env, ...proxyEnv(ctx, proxy), RELCTL_TAG: tag },
    cwd: stop?.cwd ?? layoutOf(ctx.path).release(tag),
    timeoutMs: proxy.drainMs + 60_000,
  };
}

/** The slot and port a slot-start step reports on its last line. */
export function parseSlotStart(stdout: string): { slot: "blue" | "green"; port: number } | undefined {
  const m = /^(blue|green) (\d{1,5}) (started|kept)$/.exec(stdout.trim().split("\n").at(-1)?.trim() ?? "");
  return m ? { slot: m[1] as "blue" | "green", port: Number(m[2]) } : undefined;
}

/** A health URL with the slot's port: the new instance is checked directly, not through the proxy. */
export function urlOnPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

/** Read-only (relctl doctor): the runtime API answers and the backend has servers blue and green. */
export function planProxyCheck(path: string, proxy: ProxyConfig): Step {
  const body = [
    "set -u",
    HAPROXY_FUNCTIONS,
    'out=$(hap "show stat") || { echo "HAProxy at $RELCTL_PROXY_ADMIN did not answer" >&2; exit 1; }',
    "b=$(px_field blue 18); g=$(px_field green 18)",
    '[ -n "$b" ] && [ -n "$g" ] || { echo "backend $RELCTL_PROXY_BACKEND has no servers blue and green" >&2; exit 1; }',
    'echo "blue $b, green $g; live: $(cat "$RELCTL_SLOTS/live" 2>/dev/null || echo none)"',
  ].join("\n");
  return {
    id: "proxy-check",
    title: `${proxy.kind} ${proxy.admin} backend ${proxy.backend}`,
    argv: ["sh", "-c", body],
    env: {
      RELCTL_PROXY_ADMIN: proxy.admin,
      RELCTL_PROXY_BACKEND: proxy.backend,
      RELCTL_SLOTS: slotsDir(path),
    },
    timeoutMs: 15_000,
  };
}
