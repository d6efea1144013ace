import { readFileSync, writeFileSync } from "node:fs";
import {
  createMiniService,
  createPostgresTestDatabase,
  type MiniService,
  type OtlpReceiver,
  type OtlpSpan,
  SPAN_KIND,
  spanAttribute,
  startOtlpReceiver,
  type TestDatabase,
} from "@relctl/testkit";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli } from "./run-cli.js";

/**
 * The CLI with its exporter pointed at a real OTLP/HTTP receiver on loopback: each command is one
 * trace, the command's span → the deploy's (or rollback's) span → each runbook step and the health
 * check, and a step's command on the host gets its own step's span as TRACEPARENT.
 */
const { INTERNAL } = SPAN_KIND;

let receiver: OtlpReceiver;
let spans: OtlpSpan[];
let db: TestDatabase;
let svc: MiniService;

const attr = spanAttribute;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  spans = receiver.spans;
  db = await createPostgresTestDatabase("relctl_cli_trace");
  svc = await createMiniService({
    service: "traced",
    tags: [
      { tag: "v1", schema: 1 },
      { tag: "v2", schema: 1 },
    ],
    environments: { production: { hosts: 1, extra: "    gate: { approvals: false }" } },
  });
  // The build prints what the host got.
  writeFileSync(
    svc.configFile,
    readFileSync(svc.configFile, "utf8").replace(
      "    commands:\n",
      `    commands:\n      build: 'echo "traceparent=$TRACEPARENT trace=$RELCTL_TRACE_ID"'\n`,
    ),
  );
}, 60_000);

afterAll(async () => {
  await svc?.stop();
  await db?.drop();
  await receiver?.stop();
});

const cli = (...args: string[]) =>
  runCli(
    args,
    {
      DATABASE_URL: db.url!,
      RELCTL_CONFIG: svc.configFile,
      RELCTL_USER: "dev",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_METRICS_EXPORTER: "none",
      OTEL_LOGS_EXPORTER: "none",
    },
    svc.dir,
  );

/** The one trace whose root is the command's span `relctl <id>`, as `a > b > c` paths. */
function traceOf(root: OtlpSpan) {
  const trace = spans.filter((s) => s.traceId === root.traceId);
  const byId = new Map(trace.map((s) => [s.spanId, s]));
  const chain = (s: OtlpSpan): string[] => {
    const names = [s.name];
    for (
      let p = s.parentSpanId && byId.get(s.parentSpanId);
      p;
      p = p.parentSpanId && byId.get(p.parentSpanId)
    )
      names.unshift(p.name);
    return names;
  };
  return { trace, tree: trace.map((s) => chain(s).join(" > ")).sort() };
}

/** Polls until `check` returns something (the exporter may still be sending). */
async function until<T>(check: () => T | undefined, ms = 10_000): Promise<T | undefined> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    const v = check();
    if (v !== undefined) return v;
  }
  return check();
}

/** The run's trace (its trace id is the run's), checked as one tree through its use-case span. */
async function checkRun(command: string, kind: "deploy" | "rollback", runId: number, tag: string) {
  const [row] = await db.db.sql`SELECT trace_id FROM runs WHERE id = ${runId}`;
  const traceId = String(row?.trace_id);
  const root = await until(() =>
    spans.find((s) => s.traceId === traceId && s.name === command && !s.parentSpanId),
  );
  expect(root, spans.map((s) => `${s.traceId} ${s.name}`).join("\n")).toBeDefined();
  const { trace, tree } = traceOf(root!);
  // One tree: a single root, every span under it.
  expect(
    trace
      .filter((s) => !s.parentSpanId || !trace.some((p) => p.spanId === s.parentSpanId))
      .map((s) => s.name),
    tree.join("\n"),
  ).toEqual([command]);
  const useCase = trace.filter((s) => s.name === `relctl ${kind} traced production`);
  expect(useCase, tree.join("\n")).toHaveLength(1);
  const span = useCase[0]!;
  expect(span.parentSpanId).toBe(root!.spanId);
  expect(span.kind).toBe(INTERNAL);
  expect(attr(span, "relctl.service")).toBe("traced");
  expect(attr(span, "relctl.environment")).toBe("production");
  expect(attr(span, "relctl.tag")).toBe(tag);
  expect(attr(span, "relctl.outcome")).toBe("succeeded");
  expect(Number(attr(span, "relctl.run_id"))).toBe(runId);
  const stepRows = await db.db.sql`SELECT step, output_tail FROM step_runs WHERE run_id = ${runId}`;
  expect(stepRows.length).toBeGreaterThan(1);
  const steps = trace.filter((s) => s.parentSpanId === span.spanId && s.name.startsWith("runbook "));
  expect(steps.map((s) => s.name.slice("runbook ".length)).sort()).toEqual(
    stepRows.map((r) => String(r.step)).sort(),
  );
  expect(
    steps.some((s) => /health/.test(s.name)),
    tree.join("\n"),
  ).toBe(true);
  return { root: root!, steps, stepRows };
}

it("a deploy and a rollback from the CLI are each one trace: command → use-case → each step and the health check", async () => {
  const first = await cli("deploy", "traced", "v1", "--env", "production", "--json");
  expect(first.code, first.stderr).toBe(0);
  const second = await cli("deploy", "traced", "v2", "--env", "production", "--json");
  expect(second.code, second.stderr).toBe(0);
  const back = await cli("rollback", "traced", "--to", "v1", "--env", "production", "--yes", "--json");
  expect(back.code, back.stderr).toBe(0);
  const runs = await db.db.sql`SELECT id, kind, tag FROM runs ORDER BY id`;
  expect(runs.map((r) => `${r.kind} ${r.tag}`)).toEqual(["deploy v1", "deploy v2", "rollback v1"]);

  const deployed = await checkRun("relctl deploy", "deploy", Number(runs[0]!.id), "v1");
  await checkRun("relctl deploy", "deploy", Number(runs[1]!.id), "v2");
  await checkRun("relctl rollback", "rollback", Number(runs[2]!.id), "v1");

  // The build's command got its own step's span, and the trace id.
  const build = deployed.stepRows.find((r) => r.step === "build");
  const echoed = /traceparent=(\S*) trace=(\S*)/.exec(String(build?.output_tail));
  expect(echoed, String(build?.output_tail)).not.toBeNull();
  const buildSpan = deployed.steps.find((s) => s.name === "runbook build");
  expect(echoed![1]).toBe(`00-${deployed.root.traceId}-${buildSpan!.spanId}-01`);
  expect(echoed![2]).toBe(deployed.root.traceId);
}, 120_000);
