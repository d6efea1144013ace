import { randomBytes } from "node:crypto";
import * as core from "@actions/core";

/** What the action says to the runner: log lines, groups, annotations, masks, outputs, summary. */
export interface ActionIo {
  info(line: string): void;
  startGroup(title: string): void;
  endGroup(): void;
  /** Prints text from elsewhere (a host's output) so the runner never takes a line of it as a command. */
  untrusted(text: string): void;
  warning(message: string): void;
  /** An error annotation (`::error::`) with one line. */
  error(message: string): void;
  mask(secret: string): void;
  setOutput(name: string, value: string): void;
  exportVariable(name: string, value: string): void;
  appendSummary(markdown: string): Promise<void>;
  /** Keeps a value for the action's post step (`core.saveState`; the post step reads STATE_<name>). */
  saveState?(name: string, value: string): void;
}

/** The runner adapter: workflow commands on stdout, GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STEP_SUMMARY files. */
export function createRunnerIo(
  write: (text: string) => void = (t) => void process.stdout.write(t),
): ActionIo {
  return {
    info: (line) => core.info(line),
    startGroup: (title) => core.startGroup(title),
    endGroup: () => core.endGroup(),
    untrusted(text) {
      const token = randomBytes(16).toString("hex");
      write(`::stop-commands::${token}\n${text.replace(/\n?$/, "\n")}::${token}::\n`);
    },
    warning: (message) => core.warning(message, { title: "relctl" }),
    error: (message) => core.error(message, { title: "relctl" }),
    mask: (secret) => core.setSecret(secret),
    setOutput: (name, value) => core.setOutput(name, value),
    exportVariable: (name, value) => core.exportVariable(name, value),
    saveState: (name, value) => core.saveState(name, value),
    async appendSummary(markdown) {
      if (!process.env.GITHUB_STEP_SUMMARY) return;
      await core.summary.addRaw(markdown).write();
      core.summary.emptyBuffer();
    },
  };
}
