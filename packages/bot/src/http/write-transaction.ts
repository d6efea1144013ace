import type { FastifyRequest } from "fastify";
import type { ReservedSql, Sql, TransactionSql } from "postgres";
import { DeadlineExceeded } from "./deadline.js";

/** A transaction whose statements go out in batches, one round trip each (see inWriteTransaction). */
export interface WriteTransaction {
  /** The transaction's connection: statements sent together are answered in one round trip. */
  readonly sql: TransactionSql;
  /**
   * Sends the statements `send` issues and COMMIT behind them, in one round trip, unless the
   * request's deadline has passed (then nothing is sent and the transaction rolls back). A failed
   * statement fails the transaction: PostgreSQL answers its COMMIT by rolling back.
   */
  commit<T>(send: (sql: TransactionSql) => Promise<T>): Promise<T>;
}

/**
 * Runs a route's write as one transaction in (usually) two round trips, under the request's
 * deadline: BEGIN goes out with `fn`'s first statements (the reads and locks), and its writes go
 * out with COMMIT (`tx.commit`). postgres.js pipelines statements sent on one reserved connection
 * without awaiting each. A deadline that passes before `tx.commit` rolls the transaction back, so
 * its answer can say it changed nothing; from COMMIT on the outcome is the server's (the request
 * is marked committing, for the error handler). Without `tx.commit`, the transaction rolls back.
 */
export async function inWriteTransaction<T>(
  req: FastifyRequest,
  sql: Sql,
  fn: (tx: WriteTransaction) => Promise<T>,
): Promise<T> {
  const deadline = req.deadline;
  const stopIfPassed = () => {
    if (deadline?.passed) throw new DeadlineExceeded(deadline.ms ?? 0);
  };
  stopIfPassed();
  const reserved: ReservedSql = await sql.reserve();
  let ended = false;
  try {
    stopIfPassed();
    const conn = reserved as unknown as TransactionSql;
    const begun = reserved`BEGIN`.execute();
    begun.catch(() => {});
    const tx: WriteTransaction = {
      sql: conn,
      async commit(send) {
        // BEGIN was answered before the first statements that the writes depend on.
        await begun;
        stopIfPassed();
        if (deadline) deadline.committing = true;
        const written = send(conn);
        const committed = reserved`COMMIT`.execute();
        ended = true;
        const [result, commit] = await Promise.allSettled([written, committed]);
        if (result.status === "rejected") throw result.reason;
        if (commit.status === "rejected") throw commit.reason;
        return result.value;
      },
    };
    return await fn(tx);
  } finally {
    // Answered after everything sent before it: once it returns, the connection is idle.
    if (!ended) await reserved`ROLLBACK`.catch(() => {});
    reserved.release();
  }
}
