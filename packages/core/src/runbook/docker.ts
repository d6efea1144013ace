import type { Step } from "../ports/executor.js";
import { layoutOf } from "./layout.js";
import { configuredCommand, dockerComposeStrategy, imageOf, releasesStrategy } from "./steps.js";
import type { HostPlanContext, Strategy } from "./strategy.js";

/**
 * docker: each release is an image, <service>:<tag>, built from its checkout (the same layout as
 * the releases strategy: releases/<tag>, and `current` pointing at the live one), and the service
 * is a container of it started with plain `docker run`, as Kamal does. Not Compose: blue/green
 * runs two containers of one service side by side, under different names and ports
 * (<service>-blue, <service>-green), and Compose's one project per service, one container per
 * service name, fights that.
 *
 *   build          docker build --tag <service>:<tag> --label relctl.service=… --label relctl.tag=…
 *   migrations     docker run --rm --network host -e NAME … <image> sh -c "<command>": the code of
 *                  the tag's own image, with the step's variables passed by name
 *   activate       current → releases/<tag>; the container <service> replaced by one of the image
 *   slots          the container <service>-$RELCTL_SLOT, listening on $PORT
 *   prune          the release folders and images no longer kept
 *
 * Activating never builds: a rollback starts an image that is still on the host.
 */
export function dockerStrategy(): Strategy {
  const base = releasesStrategy();
  const images = dockerComposeStrategy();
  return {
    ...base,
    name: "docker",
    releasePresent(ctx, tag) {
      return {
        id: "release-present",
        title: `test -d releases/${tag} && docker image inspect ${imageOf(ctx, tag)}`,
        argv: [
          "sh",
          "-c",
          'test -d "$1" && docker image inspect "$2" >/dev/null 2>&1',
          "sh",
          layoutOf(ctx.path).release(tag),
          imageOf(ctx, tag),
        ],
        timeoutMs: 15_000,
      };
    },
    build: images.build,
    prune: images.prune,
    // The releases strategy's migration steps (with their schema read), run in the tag's image.
    migrate: (ctx, tag) => base.migrate(ctx, tag).map((step) => inImage(ctx, tag, step)),
    migrateDown: (ctx, codeTag, version) =>
      base.migrateDown(ctx, codeTag, version).map((step) => inImage(ctx, codeTag, step)),
    schemaVersion(ctx, tag) {
      const read = base.schemaVersion(ctx, tag);
      return read && inImage(ctx, tag, read);
    },
    activate(ctx, tag) {
      // The releases strategy's switch of `current` (no start command): its script and arguments.
      const [link] = base.activate(
        { ...ctx, env: { ...ctx.env, commands: { ...ctx.env.commands, start: undefined } } },
        tag,
      );
      const run = serviceContainer(ctx, tag, "switch", [], ["$RELCTL_SERVICE", ctx.service]);
      return [
        {
          ...run,
          title: `${link!.title}; ${run.title}`,
          argv: ["sh", "-c", `${link!.argv[2]} || exit 1\n${run.argv[2]}`, ...link!.argv.slice(3)],
        },
      ];
    },
    slotStart(ctx, tag) {
      return serviceContainer(
        ctx,
        tag,
        "start",
        ["PORT", "RELCTL_SLOT"],
        ["$RELCTL_SERVICE-$RELCTL_SLOT", `${ctx.service}-$RELCTL_SLOT`],
      );
    },
    slotStop(ctx, tag) {
      // No cwd: removing a container needs no release files (the release may be pruned already).
      const { cwd: _, ...stop } = configuredCommand("stop", SLOT_STOP, ctx, "", ctx.env.timeouts.start, {
        tag,
      });
      return { ...stop, title: `docker rm ${ctx.service}-$RELCTL_SLOT` };
    },
  };
}

/** Variables that name places on the host: meaningless inside a container. */
const HOST_ONLY = new Set(["RELCTL_RELEASE_DIR", "RELCTL_PATH", "PIDFILE", "RELCTL_IMAGE", "RELCTL_START"]);
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** `-e NAME` for each variable a container gets from the step's environment (values never in argv). */
function envFlags(step: Step, extra: readonly string[] = []): string[] {
  const names = [...new Set([...Object.keys(step.env ?? {}), ...extra])];
  return names.filter((n) => ENV_NAME.test(n) && !HOST_ONLY.has(n)).flatMap((n) => ["-e", n]);
}

/**
 * Runs a step's own `sh -c` command (with its arguments) in a container of the tag's image, one
 * at a time per service and step (<service>-<step id>). When the step is ended (its timeout, a
 * lost connection, an interruption), the container is removed with it: nothing keeps running.
 *   $1 the container's name, $2… docker run's arguments
 */
const IN_CONTAINER = [
  'name=$1; shift; docker rm -f "$name" >/dev/null 2>&1',
  "trap 'docker rm -f \"$name\" >/dev/null 2>&1; exit 143' TERM INT HUP",
  'docker run --rm --name "$name" "$@" &',
  'wait "$!"',
].join("\n");

function inImage(ctx: HostPlanContext, tag: string, step: Step): Step {
  const image = imageOf(ctx, tag);
  return {
    ...step,
    title: `in ${image}: ${step.title}`,
    argv: [
      "sh",
      "-c",
      IN_CONTAINER,
      "sh",
      `${ctx.service}-${step.id}`,
      "--network",
      "host",
      "--label",
      `relctl.service=${ctx.service}`,
      "--label",
      `relctl.tag=${tag}`,
      ...envFlags(step),
      image,
      ...step.argv,
    ],
  };
}

/**
 * Replaces the container `name` (the step's variables, expanded) by a detached one of
 * $RELCTL_IMAGE on the host's network, running the image's CMD or $RELCTL_START; returns once
 * it runs (its last line: "<name> running <image>"), or fails with the end of its log. With
 * $PIDFILE set, writes the container's main process id there.
 */
function runContainer(name: string, env: readonly string[], start: boolean): string {
  return [
    `name="${name}"`,
    'docker rm -f "$name" >/dev/null 2>&1',
    [
      'docker run --detach --name "$name" --network host --restart unless-stopped',
      '--label "relctl.service=$RELCTL_SERVICE" --label "relctl.tag=$RELCTL_TAG"',
      ...env,
      '"$RELCTL_IMAGE"',
      ...(start ? ['sh -c "$RELCTL_START"'] : []),
      ">/dev/null || exit 1",
    ].join(" "),
    "i=0",
    "while :; do",
    '  state=$(docker inspect --format "{{.State.Status}}" "$name" 2>/dev/null) || state=gone',
    '  [ "$state" = running ] && break',
    '  if [ "$state" != created ] || [ "$i" -ge 100 ]; then',
    '    echo "the container $name is $state, not running:" >&2; docker logs --tail 20 "$name" >&2 2>&1; exit 1',
    "  fi",
    "  sleep 0.1; i=$((i + 1))",
    "done",
    'if [ -n "$PIDFILE" ]; then docker inspect --format "{{.State.Pid}}" "$name" >"$PIDFILE" || exit 1; fi',
    'echo "$name running $RELCTL_IMAGE"',
  ].join("\n");
}

/** The service's container of `tag` (see runContainer), as one `sh -c` step reading its values from its environment. */
function serviceContainer(
  ctx: HostPlanContext,
  tag: string,
  id: string,
  slotEnv: readonly string[],
  /** The container's name: as shell text of the step's variables, and as people read it. */
  [name, shown]: readonly [string, string],
): Step {
  const l = layoutOf(ctx.path);
  const start = ctx.env.commands.start;
  const command = configuredCommand(id, start ?? "", ctx, l.release(tag), ctx.env.timeouts.start, { tag });
  const image = imageOf(ctx, tag);
  return {
    ...command,
    title: `docker run ${shown} ${image}${start ? ` ${command.title}` : ""}`,
    argv: ["sh", "-c", runContainer(name, envFlags(command, slotEnv), start !== undefined)],
    env: { ...command.env, RELCTL_IMAGE: image, ...(start ? { RELCTL_START: command.argv[2]! } : {}) },
  };
}

/** Removes the slot's container ($RELCTL_SERVICE-$RELCTL_SLOT), after a graceful stop; exits 0 when none. */
const SLOT_STOP = [
  'name="$RELCTL_SERVICE-$RELCTL_SLOT"',
  'found=$(docker ps --all --quiet --filter "name=^/$name\\$") || exit 1',
  'if [ -n "$found" ]; then docker stop --time 10 "$name" >/dev/null 2>&1; docker rm -f "$name" >/dev/null || exit 1; fi',
  'if [ -n "$PIDFILE" ]; then rm -f "$PIDFILE"; fi',
].join("\n");
