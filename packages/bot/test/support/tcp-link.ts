import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpLink {
  /** The loopback port that leads to the target. */
  readonly port: number;
  /**
   * A network partition: nothing more crosses the link either way (new connections are accepted
   * and then hear nothing) until heal(); what was in flight is held, as TCP would, not dropped.
   */
  partition(): void;
  heal(): void;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 to `targetPort`, which a test can cut off without closing a socket. */
export async function startTcpLink(targetPort: number): Promise<TcpLink> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on("data", (chunk) => to.write(chunk));
      from.on("error", () => to.destroy());
      from.on("close", () => {
        sockets.delete(from);
        to.destroy();
      });
      if (cut) from.pause();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    partition() {
      cut = true;
      for (const s of sockets) s.pause();
    },
    heal() {
      cut = false;
      for (const s of sockets) s.resume();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
