import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface RoundTripCounter {
  /** The loopback port that leads to the database. */
  readonly port: number;
  /** Round trips since the last reset: a client's sending that follows an answer (or opens a connection). */
  count(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * A TCP relay to `targetPort` that counts round trips, summed over its connections: one each time
 * a client sends after having heard from the server. Statements sent together (pipelined) count
 * once; a statement awaited before the next is sent counts once each.
 */
export async function startRoundTripCounter(targetPort: number): Promise<RoundTripCounter> {
  const sockets = new Set<Socket>();
  let trips = 0;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    let answered = true;
    client.on("data", (chunk) => {
      if (answered) trips++;
      answered = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      answered = true;
      client.write(chunk);
    });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    count: () => trips,
    reset() {
      trips = 0;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
