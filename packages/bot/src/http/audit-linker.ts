import { linkPendingAuditEvents } from "@relctl/core";
import type { Sql } from "postgres";

/**
 * Links the audit events left queued by writes that committed while another transaction held the
 * chain's lock (migration 16): `poke` when a write queued one (onAuditEventQueued); at most one
 * link run per `delayMs`, the first `delayMs` after the poke, so a busy API adds about one small
 * transaction per interval, and a queued event is linked within about `delayMs`. The linking is the database owner's
 * function (relctl_audit_chain_extend); this only asks for it. `close` waits for a run under way
 * and runs once more.
 */
export class AuditChainLinker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(
    private readonly sql: Sql,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = 100,
  ) {}

  poke(): void {
    if (this.closed || this.timer) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, this.delayMs);
    this.timer.unref();
  }

  private run(): void {
    this.running = linkPendingAuditEvents(this.sql)
      .then(
        () => {},
        (err: unknown) => this.onError(err),
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await linkPendingAuditEvents(this.sql).catch((err: unknown) => this.onError(err));
  }
}
