import postgres, { type Sql } from "postgres";

/** The channel migration 11 announces revoked tokens on. */
const CHANNEL = "relctl_token_revoked";
const RELISTEN_MS = 250;

/**
 * Listens for token revocations (LISTEN relctl_token_revoked, on a connection of its own) and
 * calls `forget` on each, so a revoked token leaves every process's cache as its revocation
 * commits. `live` is true only while the listening connection is up: a cache must not be trusted
 * otherwise (a revocation could pass unheard), and `forget` is called again whenever listening
 * (re)starts.
 */
export class TokenRevocationWatch {
  private live = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly conn: Sql;

  constructor(
    sql: Sql,
    private readonly forget: () => void,
  ) {
    // The pool's own options (postgres.js takes them as they are, as its listen() does), on one
    // connection that never idles out.
    this.conn = postgres({
      ...(sql.options as object),
      max: 1,
      idle_timeout: null,
      max_lifetime: null,
      fetch_types: false,
      onnotify: (channel: string) => {
        if (channel === CHANNEL) this.forget();
      },
      onclose: () => {
        this.live = false;
        this.forget();
        this.listenSoon();
      },
    } as never);
  }

  get listening(): boolean {
    return this.live;
  }

  /** Starts listening; resolves once listening (or once the first attempt failed: it retries). */
  async start(): Promise<void> {
    try {
      await this.conn.unsafe(`LISTEN ${CHANNEL}`);
      if (this.stopped) return;
      this.forget();
      this.live = true;
    } catch {
      this.listenSoon();
    }
  }

  private listenSoon(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start();
    }, RELISTEN_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.live = false;
    clearTimeout(this.timer);
    await this.conn.end({ timeout: 1 }).catch(() => {});
  }
}
