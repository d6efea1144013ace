import * as Flags from "@oclif/core/flags";
import { exportAudit } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class AuditExport extends BaseCommand<typeof AuditExport> {
  static override summary =
    "Export the audit log of a period as CSV or JSON lines, with each event's chain link.";
  static override description =
    "Oldest first, on stdout. Every field is as stored and hashed: at in UTC with microseconds, before/after as JSON (in CSV, its text), and the event's place in the chain (seq), prev_hash and hash, so the export can be checked against a later relctl audit verify.";
  static override examples = [
    "<%= config.bin %> audit export --since 2026-01-01 --format csv > audit.csv",
    "<%= config.bin %> audit export --since 30d --format jsonl",
    "<%= config.bin %> audit export --since 2026-04-01 --until 2026-05-01 --format jsonl > april.jsonl",
  ];
  static override flags = {
    since: Flags.string({
      description:
        "From this date or time (2026-05-01, 2026-05-01T12:00:00Z) or period back (30d); default: the first event.",
    }),
    until: Flags.string({ description: "Before this date or time (default: now)." }),
    format: Flags.string({
      description: "csv (RFC 4180, a header row) or jsonl (one object a line).",
      options: ["csv", "jsonl"],
      default: "jsonl",
    }),
  };

  async run() {
    const { flags } = await this.parse(AuditExport);
    const { db } = await this.ctx();
    const input = {
      since: flags.since ?? "1970-01-01",
      until: flags.until,
      format: flags.format as "csv" | "jsonl",
    };
    if (this.jsonEnabled()) {
      // One JSON document: the events as the JSON lines have them.
      const lines: string[] = [];
      const count = await exportAudit(db.sql, { ...input, format: "jsonl" }, (chunk) => {
        lines.push(chunk);
      });
      const events = lines
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown);
      return { count, events };
    }
    const count = await exportAudit(db.sql, input, (chunk) => write(chunk));
    this.note(`${count} audit event${count === 1 ? "" : "s"}`);
    return { count };
  }
}

/** Writes to stdout, waiting while its buffer is full (a large export piped to a slow reader). */
function write(chunk: string): Promise<void> | undefined {
  if (chunk === "" || process.stdout.write(chunk)) return undefined;
  return new Promise((resolve) => process.stdout.once("drain", () => resolve()));
}
