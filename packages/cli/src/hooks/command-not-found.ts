import type { Hook } from "@oclif/core/hooks";

/**
 * An unknown command names the closest one. On a terminal @oclif/plugin-not-found asks whether to
 * run it; elsewhere (CI, scripts) nothing can answer, so the suggestion is one error line, exit 127.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  if (process.stdin.isTTY && process.stderr.isTTY) {
    const { default: ask } = await import("@oclif/plugin-not-found");
    return ask.call(this, opts);
  }
  const spaced = (id: string) => id.replaceAll(":", " ");
  const ids = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  const closest = ids
    .map((id) => ({ id, distance: distance(opts.id, id) }))
    .sort((a, b) => a.distance - b.distance)[0]?.id;
  const bin = opts.config.bin;
  process.stderr.write(
    `${bin}: ${spaced(opts.id)} is not a ${bin} command${closest ? `; did you mean ${bin} ${spaced(closest)}?` : ""} (${bin} help lists them)\n`,
  );
  this.exit(127);
};

/** Levenshtein distance: how many one-character edits turn `a` into `b`. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

export default hook;
