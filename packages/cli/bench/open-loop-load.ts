// Forked by zero-downtime-bench.ts with --serve-load (a process of its own, so relctl's work in the benchmark's
// process never delays a request): sends GET / to its targets at a steady rate, open-loop — each
// request at its scheduled time, whether or not the earlier ones have answered — and reports every
// request: when it was scheduled, its latency from then, its status and the version it answered.
//
//   { type: "start", targets: [port, …], rate }   starts sending (round-robin over the targets)
//   { type: "stop" }                               stops, waits for the answers, replies { answers }

/** [scheduled at (epoch ms), latency from then (ms), HTTP status (0: no answer), version or what went wrong]. */
export type Answer = [at: number, ms: number, status: number, what: string];

export type LoadCommand =
  | { readonly type: "start"; readonly targets: readonly number[]; readonly rate: number }
  | { readonly type: "stop" };

/** Epoch milliseconds, sub-millisecond, comparable between processes. */
export const now = () => performance.timeOrigin + performance.now();

const TIMEOUT_MS = 5000;
/** The argument the benchmark forks this module with. */
export const SERVE = "--serve-load";

function whatWentWrong(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.name ?? String(err);
}

async function request(port: number, at: number, answers: Answer[]): Promise<void> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    let what = `body ${text.slice(0, 60)}`;
    try {
      const body = JSON.parse(text) as { status?: unknown; version?: unknown };
      if (body.status === "ok" && typeof body.version === "string") what = body.version;
    } catch {}
    answers.push([at, now() - at, res.status, what]);
  } catch (err) {
    answers.push([at, now() - at, 0, whatWentWrong(err)]);
  }
}

if (process.argv[2] === SERVE && process.send) {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let answers: Answer[] = [];
  const inFlight = new Set<Promise<void>>();
  process.on("message", async (m: LoadCommand) => {
    if (m.type === "start") {
      running = true;
      answers = [];
      const { targets, rate } = m;
      const t0 = now();
      let sent = 0;
      let next = t0;
      const tick = () => {
        if (!running) return;
        const t = now();
        while (next <= t) {
          const p = request(targets[sent % targets.length]!, next, answers);
          inFlight.add(p);
          void p.finally(() => inFlight.delete(p));
          sent++;
          next = t0 + (sent * 1000) / rate;
        }
        timer = setTimeout(tick, Math.max(0, next - now()));
      };
      tick();
    } else {
      running = false;
      clearTimeout(timer);
      await Promise.all(inFlight);
      process.send!({ answers });
    }
  });
}
