import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface DispatchCall {
  readonly owner: string;
  readonly repo: string;
  readonly workflow: string;
  readonly body: { ref?: string; inputs?: Record<string, string> };
  readonly authorization: string | undefined;
  status: number;
}

/** GitHub's REST API on loopback: `workflow_dispatch` only, recorded; a script can answer 5xx/429. */
export class GithubEmulator {
  readonly dispatches: DispatchCall[] = [];
  script: ((call: DispatchCall) => number | undefined) | undefined;
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  /** Dispatches GitHub accepted (204). */
  accepted(): DispatchCall[] {
    return this.dispatches.filter((d) => d.status === 204);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const m = /^\/repos\/([^/]+)\/([^/]+)\/actions\/workflows\/([^/]+)\/dispatches$/.exec(req.url ?? "");
    if (req.method !== "POST" || !m) {
      res
        .writeHead(404, { "content-type": "application/json" })
        .end(JSON.stringify({ message: "Not Found" }));
      return;
    }
    const call: DispatchCall = {
      owner: m[1]!,
      repo: m[2]!,
      workflow: decodeURIComponent(m[3]!),
      body: raw ? JSON.parse(raw) : {},
      authorization: req.headers.authorization,
      status: 0,
    };
    this.dispatches.push(call);
    call.status = this.script?.(call) ?? 204;
    if (call.status === 204) res.writeHead(204).end();
    else
      res
        .writeHead(call.status, { "content-type": "application/json" })
        .end(JSON.stringify({ message: "Server Error" }));
  }
}
