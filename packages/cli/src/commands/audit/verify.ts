import * as Flags from "@oclif/core/flags";
import { StateError, verifyAudit } from "@relctl/core";
import { BaseCommand } from "../../base-command.js";

export default class AuditVerify extends BaseCommand<typeof AuditVerify> {
  static override summary =
    "Check the audit log's hash chain: every event is as it was recorded, none removed.";
  static override description =
    "Walks the chain in order and recomputes each link from its event. An edited, deleted, reordered or unlinked event is reported, the first one named in the error (exit 3). The head it prints (<seq>:<hash>) can be kept elsewhere and passed later as --anchor: a chain rewritten whole, by someone who can write as the database owner, no longer holds it.";
  static override examples = [
    "<%= config.bin %> audit verify",
    "<%= config.bin %> audit verify --anchor 1842:5e0c…   # the head a previous verify printed",
  ];
  static override flags = {
    anchor: Flags.string({
      description: "A link kept from before, as <seq>:<hash>: the chain must still hold it.",
    }),
  };

  async run() {
    const { flags } = await this.parse(AuditVerify);
    const { db } = await this.ctx();
    const report = await verifyAudit(db.sql, { anchor: flags.anchor });
    const head = report.head ? `${report.head.seq}:${report.head.hash}` : null;
    const result = {
      ok: report.ok,
      links: report.links,
      head: report.head
        ? { seq: report.head.seq, event_id: report.head.eventId, hash: report.head.hash, anchor: head }
        : null,
      broken: report.broken.map((b) => ({
        problem: b.problem,
        seq: b.seq,
        event_id: b.eventId,
        message: b.message,
      })),
      broken_count: report.brokenCount,
    };
    if (!report.ok) {
      for (const b of report.broken) this.log(b.message);
      const first = report.broken[0]!;
      throw new StateError("audit_chain_broken", first.message, {
        hint: `${report.brokenCount} break${report.brokenCount === 1 ? "" : "s"} in ${report.links} links`,
        details: result,
      });
    }
    this.log(
      report.head
        ? `audit chain intact: ${report.links} events; head ${head}`
        : "audit chain intact: no audit events yet",
    );
    return result;
  }
}
