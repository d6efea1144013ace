import { posix } from "node:path";
import { END_STEP_GROUP } from "../adapters/exec/quote.js";
import type { Step } from "../ports/executor.js";
import { dockerStrategy } from "./docker.js";
import { layoutOf } from "./layout.js";
import type { HostPlanContext, Strategy } from "./strategy.js";

/** A constant script with its values passed as positional arguments: values never become shell text. */
function script(
  id: string,
  title: string,
  body: string,
  args: readonly string[],
  timeoutMs: number,
  extra: Partial<Step> = {},
): Step {
  return { id, title, argv: ["sh", "-c", body, "sh", ...args], timeoutMs, ...extra };
}

/**
 * A configured command (relctl.yml) runs under `sh -c`: it is the service owner's own text.
 * Placeholders become variables, so the values relctl fills in never become shell text:
 * {version} → "$RELCTL_VERSION", {tag} → "$RELCTL_TAG".
 */
export function configuredCommand(
  id: string,
  command: string,
  ctx: HostPlanContext,
  cwd: string,
  timeoutMs: number,
  values: { tag: string; version?: string },
): Step {
  const text = command.replaceAll("{version}", '"$RELCTL_VERSION"').replaceAll("{tag}", '"$RELCTL_TAG"');
  return {
    id,
    title: command.replaceAll("{version}", values.version ?? "{version}").replaceAll("{tag}", values.tag),
    argv: ["sh", "-c", text],
    cwd,
    env: {
      ...ctx.vars,
      RELCTL_SERVICE: ctx.service,
      RELCTL_ENVIRONMENT: ctx.env.name,
      RELCTL_TAG: values.tag,
      RELCTL_RELEASE_DIR: cwd,
      RELCTL_PATH: ctx.path,
      IMAGE_TAG: values.tag,
      SERVICE_VERSION: values.tag,
      ...(values.version !== undefined ? { RELCTL_VERSION: values.version } : {}),
    },
    timeoutMs,
    sensitive: [
      ...ctx.secrets,
      ...Object.entries(ctx.vars)
        .filter(([k]) => /PASS|SECRET|TOKEN|KEY|DATABASE_URL/.test(k))
        .map(([, v]) => v),
    ],
  };
}

/**
 * A migration step that also prints the schema version it leaves (the configured schema_version
 * command, run right after it in the same round trip): its last line of output is the version.
 * When the step knows the version it must leave (`expect`: a migration down to {version}) and
 * its own last line of output already says it, the read is skipped: the step reported it.
 */
function reportingSchema(step: Step, ctx: HostPlanContext, dir: string, expect?: string): Step {
  const report = ctx.env.commands.schema_version;
  if (!report) return step;
  const read = configuredCommand("schema-version", report, ctx, dir, 60_000, { tag: "" });
  if (expect === undefined)
    return {
      ...step,
      title: `${step.title}; ${read.title}`,
      argv: ["sh", "-c", 'sh -c "$1" && sh -c "$2"', "sh", step.argv[2]!, read.argv[2]!],
    };
  return {
    ...step,
    title: `${step.title}; ${read.title} unless it printed ${expect}`,
    argv: ["sh", "-c", REPORTED_OR_READ, "sh", step.argv[2]!, read.argv[2]!, expect],
  };
}

/** Runs "$1"; prints its output; runs "$2" (the schema read) unless that output's last line is "$3". */
const REPORTED_OR_READ = [
  'out=$(sh -c "$1") || { code=$?; [ -z "$out" ] || printf "%s\\n" "$out"; exit "$code"; }',
  '[ -z "$out" ] || printf "%s\\n" "$out"',
  'nl="',
  '"',
  'case "$nl$out" in *"$nl$3") ;; *) exec sh -c "$2" ;; esac',
].join("\n");

/** A step that changes the host: its process group is recorded, so it can always be ended. */
function owned(ctx: HostPlanContext, steps: Step[]): Step[] {
  const pidFile = layoutOf(ctx.path).stepPid;
  return steps.map((step) => ({ ...step, pidFile }));
}

/** Ends the process group a step left running (see END_STEP_GROUP), as a step of the run. */
export function planEndGroupStep(pidFile: string): Step {
  return script("end-step", "end the step left running", END_STEP_GROUP, [pidFile], 20_000);
}

/**
 * The lock a run holds on a host (atomic mkdir), so two relctl installations — two databases —
 * never change one host at once. Exits 0 when taken (or already this run's), 3 when taken over
 * from a holder whose heartbeat is older than `deadAfterSeconds` (stdout: who it was), 2 when held
 * (stdout: the holder's token, then who it is).
 */
export function planHostLock(
  dir: string,
  token: string,
  holder: string,
  deadAfterSeconds: number,
  /** Take over the lock when it holds this token (a lock this installation's ended run left). */
  replace = "",
): Step {
  return script(
    "host-lock",
    "lock the host",
    [
      'd=$1; lock="$d/lock"; mkdir -p "$d" || exit 125',
      'if [ -n "$5" ] && [ "$(cat "$lock/token" 2>/dev/null)" = "$5" ]; then rm -rf "$lock"; fi',
      'take() { mkdir "$lock" 2>/dev/null || return 1; printf "%s\\n" "$2" >"$lock/token"; printf "%s\\n" "$3" >"$lock/holder"; touch "$lock/heartbeat"; }',
      'if take "$@"; then exit 0; fi',
      'if [ "$(cat "$lock/token" 2>/dev/null)" = "$2" ]; then touch "$lock/heartbeat"; exit 0; fi',
      'now=$(date +%s); beat=$(stat -c %Y "$lock/heartbeat" 2>/dev/null || echo 0)',
      'if [ $((now - beat)) -gt "$4" ]; then cat "$lock/holder" 2>/dev/null; rm -rf "$lock"; take "$@" && exit 3; fi',
      'printf "%s\\n" "$(cat "$lock/token" 2>/dev/null)"; cat "$lock/holder" 2>/dev/null; exit 2',
    ].join("\n"),
    [dir, token, holder, String(deadAfterSeconds), replace],
    15_000,
  );
}

/** Beats the host lock (only while it is still this run's). */
export function planHostLockBeat(dir: string, token: string): Step {
  return script(
    "host-lock-beat",
    "host lock heartbeat",
    '[ "$(cat "$1/lock/token" 2>/dev/null)" = "$2" ] && touch "$1/lock/heartbeat"; exit 0',
    [dir, token],
    15_000,
  );
}

/** Frees the host lock (only when it is still this run's). */
export function planHostUnlock(dir: string, token: string): Step {
  return script(
    "host-unlock",
    "unlock the host",
    'if [ "$(cat "$1/lock/token" 2>/dev/null)" = "$2" ]; then rm -rf "$1/lock"; fi; exit 0',
    [dir, token],
    15_000,
  );
}

export function releasesStrategy(): Strategy {
  return {
    name: "releases",
    current(ctx) {
      const l = layoutOf(ctx.path);
      return script(
        "current",
        "read the live release",
        'if [ -L "$1" ]; then readlink "$1"; fi',
        [l.current],
        15_000,
      );
    },
    tagPresent(ctx, tag) {
      return script(
        "tag-present",
        `git ls-remote refs/tags/${tag}`,
        'exec git ls-remote --quiet --exit-code --tags -- "$1" "refs/tags/$2"',
        [ctx.repository, tag],
        ctx.env.timeouts.fetch,
      );
    },
    releasePresent(ctx, tag) {
      return script(
        "release-present",
        `test -d releases/${tag}`,
        'test -d "$1"',
        [layoutOf(ctx.path).release(tag)],
        15_000,
      );
    },
    fetch(ctx) {
      const l = layoutOf(ctx.path);
      return [
        script(
          "fetch",
          "git fetch --tags",
          [
            'if [ -d "$1" ]; then',
            '  git --git-dir="$1" fetch --quiet --force --prune --tags origin',
            "else",
            '  mkdir -p "$(dirname "$1")" && git clone --quiet --bare -- "$2" "$1"',
            "fi",
          ].join("\n"),
          [l.repo, ctx.repository],
          ctx.env.timeouts.fetch,
        ),
      ];
    },
    checkout(ctx, tag) {
      const l = layoutOf(ctx.path);
      return [
        script(
          "checkout",
          `git checkout refs/tags/${tag}`,
          [
            "set -e",
            'git --git-dir="$1" worktree prune',
            'if [ -e "$2/.git" ]; then',
            '  git -C "$2" checkout --quiet --force --detach "refs/tags/$3"',
            "else",
            '  rm -rf "$2" && mkdir -p "$(dirname "$2")"',
            '  git --git-dir="$1" worktree add --quiet --force --detach "$2" "refs/tags/$3"',
            "fi",
          ].join("\n"),
          [l.repo, l.release(tag), tag],
          ctx.env.timeouts.fetch,
        ),
      ];
    },
    build(ctx, tag) {
      const cmd = ctx.env.commands.build;
      return cmd
        ? [
            configuredCommand("build", cmd, ctx, layoutOf(ctx.path).release(tag), ctx.env.timeouts.build, {
              tag,
            }),
          ]
        : [];
    },
    migrate(ctx, tag) {
      const cmd = ctx.env.commands.migrate;
      if (!cmd) return [];
      const dir = layoutOf(ctx.path).release(tag);
      return [
        reportingSchema(
          configuredCommand("migrate", cmd, ctx, dir, ctx.env.timeouts.migrate, { tag }),
          ctx,
          dir,
        ),
      ];
    },
    migrateDown(ctx, codeTag, version) {
      const cmd = ctx.env.commands.migrate_down;
      if (!cmd) return [];
      const dir = layoutOf(ctx.path).release(codeTag);
      const step = configuredCommand("migrate-down", cmd, ctx, dir, ctx.env.timeouts.migrate, {
        tag: codeTag,
        version,
      });
      return [reportingSchema(step, ctx, dir, version)];
    },
    schemaVersion(ctx, tag) {
      const cmd = ctx.env.commands.schema_version;
      return cmd
        ? configuredCommand("schema-version", cmd, ctx, layoutOf(ctx.path).release(tag), 60_000, { tag })
        : undefined;
    },
    activate(ctx, tag) {
      const l = layoutOf(ctx.path);
      const link = [l.current, posix.relative(l.root, l.release(tag))];
      const swap = 'ln -sfn "$2" "$1.next" && mv -Tf "$1.next" "$1"';
      const start = ctx.env.commands.start;
      if (!start) return [script("switch", `current → releases/${tag}`, swap, link, 15_000)];
      // One command for the switch and the (re)start: one round trip to the host instead of two.
      const run = configuredCommand("switch", start, ctx, l.release(tag), ctx.env.timeouts.start, { tag });
      return [
        {
          ...run,
          title: `current → releases/${tag}; ${run.title}`,
          argv: ["sh", "-c", `${swap} && exec sh -c "$3"`, "sh", ...link, run.argv[2]!],
        },
      ];
    },
    slotStart(ctx, tag) {
      const l = layoutOf(ctx.path);
      const start = ctx.env.commands.start ?? "false";
      return configuredCommand("start", start, ctx, l.release(tag), ctx.env.timeouts.start, { tag });
    },
    slotStop(ctx, tag) {
      const stop = ctx.env.commands.stop;
      return stop
        ? configuredCommand("stop", stop, ctx, layoutOf(ctx.path).release(tag), ctx.env.timeouts.start, {
            tag,
          })
        : undefined;
    },
    prune(ctx, tags) {
      if (tags.length === 0) return [];
      const l = layoutOf(ctx.path);
      return [
        script(
          "prune",
          `remove old releases: ${tags.join(", ")}`,
          'repo="$1"; shift; for d in "$@"; do git --git-dir="$repo" worktree remove --force "$d" 2>/dev/null || rm -rf "$d"; done; git --git-dir="$repo" worktree prune',
          [l.repo, ...tags.map((t) => l.release(t))],
          60_000,
        ),
      ];
    },
  };
}

/** A release's image: <service>:<tag>, the tag's / and + (not allowed in an image tag) as -. */
export function imageOf(ctx: HostPlanContext, tag: string): string {
  return `${ctx.service}:${tag.replaceAll("/", "-").replaceAll("+", "-")}`;
}

/**
 * docker-compose: the same checkout layout (the compose file comes from the release), an image
 * tagged <service>:<tag> per release, and `up` with IMAGE_TAG switching between kept images, so a
 * rollback starts a kept image instead of rebuilding. Configured commands override the defaults.
 */
export function dockerComposeStrategy(): Strategy {
  const base = releasesStrategy();
  const image = imageOf;
  return {
    ...base,
    name: "docker-compose",
    build(ctx, tag) {
      if (ctx.env.commands.build) return base.build(ctx, tag);
      const dir = layoutOf(ctx.path).release(tag);
      return [
        {
          id: "build",
          title: `docker build ${image(ctx, tag)}`,
          argv: [
            "docker",
            "build",
            "--tag",
            image(ctx, tag),
            "--label",
            `relctl.service=${ctx.service}`,
            "--label",
            `relctl.tag=${tag}`,
            dir,
          ],
          cwd: dir,
          env: { ...ctx.vars, IMAGE_TAG: tag },
          sensitive: ctx.secrets,
          timeoutMs: ctx.env.timeouts.build,
        },
      ];
    },
    activate(ctx, tag) {
      const [link] = base.activate(
        { ...ctx, env: { ...ctx.env, commands: { ...ctx.env.commands, start: undefined } } },
        tag,
      );
      if (ctx.env.commands.start) return base.activate(ctx, tag);
      const dir = layoutOf(ctx.path).release(tag);
      return [
        link!,
        {
          id: "start",
          title: `docker compose up ${image(ctx, tag)}`,
          argv: [
            "docker",
            "compose",
            "--project-name",
            ctx.service,
            "up",
            "--detach",
            "--no-build",
            "--remove-orphans",
            "--wait",
          ],
          cwd: dir,
          env: { ...ctx.vars, IMAGE_TAG: tag, RELCTL_TAG: tag },
          sensitive: ctx.secrets,
          timeoutMs: ctx.env.timeouts.start,
        },
      ];
    },
    prune(ctx, tags) {
      if (tags.length === 0) return [];
      return [
        ...base.prune(ctx, tags),
        {
          id: "prune-images",
          title: `docker image rm ${tags.map((t) => image(ctx, t)).join(" ")}`,
          argv: ["docker", "image", "rm", "--force", ...tags.map((t) => image(ctx, t))],
          timeoutMs: 120_000,
        },
      ];
    },
  };
}

/** Every step that changes the host records its process group (see owned). */
function withOwnedSteps(strategy: Strategy): Strategy {
  return {
    ...strategy,
    fetch: (ctx) => owned(ctx, strategy.fetch(ctx)),
    checkout: (ctx, tag) => owned(ctx, strategy.checkout(ctx, tag)),
    build: (ctx, tag) => owned(ctx, strategy.build(ctx, tag)),
    migrate: (ctx, tag) => owned(ctx, strategy.migrate(ctx, tag)),
    migrateDown: (ctx, codeTag, version) => owned(ctx, strategy.migrateDown(ctx, codeTag, version)),
    activate: (ctx, tag) => owned(ctx, strategy.activate(ctx, tag)),
    prune: (ctx, tags) => owned(ctx, strategy.prune(ctx, tags)),
    ...(strategy.slotStart
      ? { slotStart: (ctx: HostPlanContext, tag: string) => owned(ctx, [strategy.slotStart!(ctx, tag)])[0]! }
      : {}),
  };
}

export function strategyFor(name: Strategy["name"]): Strategy {
  const strategies = {
    releases: releasesStrategy,
    "docker-compose": dockerComposeStrategy,
    docker: dockerStrategy,
  };
  return withOwnedSteps(strategies[name]());
}

/** The tag of a `current` link target such as "releases/v1.2.0". */
export function parseCurrentLink(output: string): string | undefined {
  const target = output.trim();
  if (!target) return undefined;
  const i = target.indexOf("releases/");
  return i === -1 ? undefined : target.slice(i + "releases/".length).replace(/\/+$/, "");
}
