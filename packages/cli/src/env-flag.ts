import * as Flags from "@oclif/core/flags";

/**
 * `--env` (`-e`), one rule for every command: a command that changes an environment (deploys,
 * rolls back, rehearses, stops a run, acknowledges a hold, takes or frees a lock) changes only the
 * environment it is told, so there `--env` is required; a command that only reads takes it as a
 * choice and says in its help what it reads without it.
 */
export function changedEnvFlag() {
  return Flags.string({
    char: "e",
    description:
      "Environment of relctl.yml to change (required: nothing changes on an environment not named).",
    required: true,
  });
}

/** `--env` of a command that only reads; `without` says what it reads when none is named. */
export function readEnvFlag(without: string) {
  return Flags.string({ char: "e", description: `Environment of relctl.yml (default: ${without}).` });
}
