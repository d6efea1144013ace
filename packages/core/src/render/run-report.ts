import { formatDuration } from "../config/duration.js";
import {
  escapeMarkdown,
  markdownCode,
  markdownCodeBlock,
  markdownLink,
  markdownTable,
  trusted,
} from "./markdown.js";

/** One step a runbook ran on a host, as people read it afterwards. */
export interface RunReportStep {
  readonly host: string;
  readonly title: string;
  readonly durationMs: number;
  readonly ok: boolean;
  /** Why it failed: "exit 1", "timed out", "connection lost". */
  readonly detail?: string;
}

/** One runbook run (a deploy, a rehearsal, a rollback). */
export interface RunReportPart {
  readonly title: string;
  /** succeeded, failed, rolled_back, rollback_failed. */
  readonly status: string;
  readonly message: string;
  readonly steps: readonly RunReportStep[];
  readonly notes: readonly string[];
}

/** What a release operation did, for a job summary or any other Markdown page. */
export interface RunReport {
  readonly title: string;
  readonly ok: boolean;
  /** One line: what happened. */
  readonly result: string;
  readonly hint?: string;
  /** Label → value, e.g. ["Release", "#12 manual_testing"]; values are plain text. */
  readonly facts: readonly (readonly [string, string])[];
  /** Facts shown as code (ids). */
  readonly codeFacts?: readonly (readonly [string, string])[];
  readonly parts: readonly RunReportPart[];
  readonly links: readonly { readonly text: string; readonly url: string }[];
  /** Things the reader must know (e.g. what is missing without the approvals service). */
  readonly notices: readonly string[];
  /** The last lines of the step that failed. */
  readonly failureOutput?: string;
}

const ICON = { ok: "✅", failed: "❌" } as const;

/** Renders a run report as GitHub-flavoured Markdown; every value from outside is escaped. */
export function renderRunReportMarkdown(report: RunReport): string {
  const out: string[] = [];
  out.push(`## ${report.ok ? ICON.ok : ICON.failed} ${escapeMarkdown(report.title)}`, "");
  out.push(escapeMarkdown(report.result));
  if (report.hint) out.push("", `**Next:** ${escapeMarkdown(report.hint)}`);
  const facts = [
    ...report.facts.map(([k, v]) => [k, v] as const),
    ...(report.codeFacts ?? []).map(([k, v]) => [k, trusted(markdownCode(v))] as const),
  ];
  if (facts.length) out.push("", markdownTable(["", ""], facts));
  for (const notice of report.notices) out.push("", "> [!NOTE]", `> ${escapeMarkdown(notice)}`);
  for (const part of report.parts) {
    out.push("", `### ${escapeMarkdown(part.title)}: ${escapeMarkdown(part.status)}`, "");
    out.push(escapeMarkdown(part.message));
    if (part.steps.length) {
      out.push(
        "",
        markdownTable(
          ["#", "Host", "Step", "Duration", "Result"],
          part.steps.map((s, i) => [
            i + 1,
            s.host,
            s.title,
            formatDuration(s.durationMs),
            s.ok ? `${ICON.ok} ${s.detail ?? "ok"}` : `${ICON.failed} ${s.detail ?? "failed"}`,
          ]),
          { right: [0, 3] },
        ),
      );
    }
    if (part.notes.length) out.push("", ...part.notes.map((n) => `- ${escapeMarkdown(n)}`));
  }
  if (report.failureOutput?.trim()) {
    out.push("", "<details><summary>Output of the failed step</summary>", "");
    out.push(markdownCodeBlock(report.failureOutput), "", "</details>");
  }
  if (report.links.length) {
    out.push("", report.links.map((l) => markdownLink(l.text, l.url)).join(" · "));
  }
  return `${out.join("\n")}\n`;
}
