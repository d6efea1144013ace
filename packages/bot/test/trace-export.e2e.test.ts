import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Actor, DEFAULT_APPROVAL_POLICY, MemberStore, ReleaseStore } from "@relctl/core";
import { createHelloRepo } from "@relctl/example-hello-service/create-repo";
import {
  ADMIN_URL,
  createPostgresTestDatabase,
  freePort,
  type OtlpReceiver,
  type OtlpSpan,
  SPAN_KIND,
  spanAttribute,
  startOtlpReceiver,
  TelegramEmulator,
  type TestDatabase,
} from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BOT_TOKEN, callbackUpdate, RELEASE_CHAT, WEBHOOK_SECRET, waitFor } from "./support/harness.js";

/**
 * `relctl serve` with its exporter pointed at a real OTLP/HTTP receiver on loopback: one release
 * approved in Telegram and deployed by the worker's runbook is one trace, from the webhook's
 * request and the press through the use-case, the deploy request and the deploy to every runbook
 * step; a step's command on the host gets its own step's span as TRACEPARENT.
 */
const ROOT = join(import.meta.dirname, "..", "..", "..");
const LEAD = 401;
const ci: Actor = { user: "ci", channel: "cli" };

const { INTERNAL, SERVER, CLIENT } = SPAN_KIND;

let receiver: OtlpReceiver;
let spans: OtlpSpan[];
let resources: Record<string, unknown>[];
let db: TestDatabase;
let telegram: TelegramEmulator;
let tmp: string;
let servePort: number;
let helloPort: number;
let child: ChildProcess;
let out = "";
let admin: postgres.Sql;
const dbName = `hello_trace_${process.pid}`;

const attr = spanAttribute;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  ({ spans, resources } = receiver);

  tmp = mkdtempSync(join(tmpdir(), "relctl-trace-"));
  await createHelloRepo({ dir: join(tmp, "repo") });
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${dbName}`);
  const helloUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
  helloPort = await freePort();
  writeFileSync(
    join(tmp, "relctl.yml"),
    `
service: hello
repository: ${join(tmp, "repo", "hello.git")}
environments:
  production:
    hosts: [{ address: local }]
    path: ${join(tmp, "production")}
    env: { PORT: "${helloPort}", DATABASE_URL: "${helloUrl}" }
    commands:
      build: npm ci --prefer-offline --no-audit --no-fund && echo "traceparent=$TRACEPARENT trace=$RELCTL_TRACE_ID"
      migrate: node migrate.mjs up
      migrate_down: node migrate.mjs down {version}
      schema_version: node migrate.mjs version
      start: sh bin/restart.sh
    health: { url: "http://127.0.0.1:${helloPort}/health", attempts: 10, interval: 300ms, from: relctl, expect_version: true }
`,
  );

  db = await createPostgresTestDatabase("relctl_trace");
  telegram = await new TelegramEmulator().start();
  servePort = await freePort();
  child = spawn(process.execPath, [join(ROOT, "packages", "cli", "bin", "run.js"), "serve", "--json"], {
    cwd: tmp,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.url,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RELEASE_CHAT_ID: String(RELEASE_CHAT),
      DATABASE_URL: db.url!,
      RELCTL_DEPLOY_VIA: "runbook",
      RELCTL_POLL_MS: "20",
      RELCTL_CONFIG: join(tmp, "relctl.yml"),
      RELCTL_HTTP_HOST: "127.0.0.1",
      PORT: String(servePort),
      ...(process.env.NO_OTEL ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }),
      OTEL_BSP_SCHEDULE_DELAY: "100",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  await waitFor(() => out.includes("approvals service started"), 30_000, "relctl serve up").catch((err) => {
    throw new Error(`${(err as Error).message}\n${out}`);
  });
  // After the start: the release chat is registered, so the release's card is posted to it.
  const store = new ReleaseStore(db.db.sql);
  const { release } = await store.createRelease({ service: "hello", tag: "v1.0.0" }, ci);
  for (const s of ["stage_building", "stage_test_rollback", "manual_testing"] as const)
    await store.transition(release.id, s, "runbook", ci);
  for (const [role, user] of [
    ["qa", "q"],
    ["devops", "d"],
  ] as const)
    await store.decide(release.id, { role, decision: "approve" }, DEFAULT_APPROVAL_POLICY, {
      user,
      channel: "cli",
    });
  await new MemberStore(db.db.sql).writeMember({ telegramId: LEAD, name: "lee", roles: ["lead"] }, ci);
}, 180_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
  }
  const pidfile = join(tmp, "production", "hello.pid");
  if (existsSync(pidfile)) {
    try {
      process.kill(Number(readFileSync(pidfile, "utf8")), "SIGTERM");
    } catch {}
  }
  await telegram?.stop();
  await db?.drop();
  await admin?.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin?.end();
  await receiver?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

it("one approval pressed in Telegram and deployed by the worker is one trace, press to health check", async () => {
  const card = await waitFor(
    () =>
      telegram
        .chatMessages(RELEASE_CHAT)
        .find((m) => m.text.startsWith("hello v1.0.0 — #") && m.buttons.length),
    20_000,
    "the card",
  ).catch((err) => {
    throw new Error(
      `${(err as Error).message}\n${JSON.stringify(telegram.chatMessages(RELEASE_CHAT))}\n${out}`,
    );
  });
  // The card is edited as the seeded approvals arrive: press its button once it settles.
  let approve = "";
  await waitFor(
    async () => {
      const now = card.buttons.length ? telegram.button(RELEASE_CHAT, card.messageId, /Approve/) : "";
      const settled = now !== "" && now === approve;
      approve = now;
      if (!settled) await new Promise((r) => setTimeout(r, 1000));
      return settled;
    },
    20_000,
    "the card settled",
  );
  const res = await fetch(`http://127.0.0.1:${servePort}/telegram/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": WEBHOOK_SECRET },
    body: JSON.stringify({
      update_id: 7001,
      ...callbackUpdate(
        LEAD,
        RELEASE_CHAT,
        card.messageId,
        telegram.button(RELEASE_CHAT, card.messageId, /Approve/),
      ),
    }),
  });
  expect(res.status).toBe(200);
  const deployed = await waitFor(
    async () =>
      (await db.db.sql`SELECT state, traceparent FROM deploy_requests WHERE kind = 'deploy'`).find(
        (r) => r.state !== "pending" && r.state !== "running",
      ),
    Number(process.env.DEPLOY_WAIT_MS ?? 120_000),
    "the deploy request done",
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\n${JSON.stringify(telegram.answers())}\n${out.slice(-4000)}`);
  });
  expect(deployed.state, out.slice(-4000)).toBe("done");
  expect(deployed.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  const worker = await waitFor(
    () => spans.find((s) => s.name === "deploy-request deploy"),
    15_000,
    "the worker's span exported",
  );
  const trace = spans.filter((s) => s.traceId === worker.traceId);
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
  const tree = trace.map((s) => chain(s).join(" > ")).sort();

  // One root: the webhook's SERVER span; every span of the trace hangs under it.
  const roots = trace.filter((s) => !s.parentSpanId);
  expect(
    roots.map((s) => s.name),
    tree.join("\n"),
  ).toEqual(["POST /telegram/webhook"]);
  const root = roots[0]!;
  expect(root.kind).toBe(SERVER);
  expect(attr(root, "http.request.method")).toBe("POST");
  expect(attr(root, "http.route")).toBe("/telegram/webhook");
  expect(attr(root, "url.path")).toBe("/telegram/webhook");
  expect(Number(attr(root, "http.response.status_code"))).toBe(200);
  for (const s of trace) expect(chain(s)[0], chain(s).join(" > ")).toBe("POST /telegram/webhook");

  // Press → use-case → the deploy request's run → the deploy.
  const press = "POST /telegram/webhook > telegram callback_query";
  const useCase = `${press} > decideRelease approve`;
  const run = `${useCase} > deploy-request deploy`;
  const deploy = `${run} > relctl deploy hello production`;
  expect(tree).toContain(useCase);
  expect(tree).toContain(run);
  expect(tree).toContain(deploy);
  expect(deployed.traceparent).toBe(`00-${worker.traceId}-${worker.parentSpanId}-01`);
  const deploySpans = trace.filter((s) => s.name === "relctl deploy hello production");
  expect(deploySpans).toHaveLength(1);
  const deploySpan = deploySpans[0]!;
  expect(deploySpan.parentSpanId).toBe(worker.spanId);
  expect(deploySpan.kind).toBe(INTERNAL);
  expect(attr(deploySpan, "relctl.service")).toBe("hello");
  expect(attr(deploySpan, "relctl.environment")).toBe("production");
  expect(attr(deploySpan, "relctl.tag")).toBe("v1.0.0");
  expect(Number(attr(deploySpan, "relctl.release_id"))).toBeGreaterThan(0);
  expect(attr(deploySpan, "relctl.outcome")).toBe("succeeded");

  // Each runbook step (recorded as the run's steps) is a child of the deploy, the health check too.
  const stepRows = await db.db.sql`SELECT DISTINCT step FROM step_runs`;
  const steps = trace.filter((s) => s.parentSpanId === deploySpan.spanId && s.name.startsWith("runbook "));
  expect(steps.length).toBeGreaterThan(3);
  for (const row of stepRows) expect(tree, String(row.step)).toContain(`${deploy} > runbook ${row.step}`);
  expect(
    steps.some((s) => /health/.test(s.name)),
    tree.join("\n"),
  ).toBe(true);

  // The host's command got its own step's span as TRACEPARENT (and the trace id as RELCTL_TRACE_ID).
  const [build] = await db.db.sql`SELECT output_tail FROM step_runs WHERE step = 'build'`;
  const echoed = /traceparent=(\S*) trace=(\S*)/.exec(String(build?.output_tail));
  expect(echoed, String(build?.output_tail)).not.toBeNull();
  const buildSpan = steps.find((s) => s.name === "runbook build");
  expect(buildSpan).toBeDefined();
  expect(echoed![1]).toBe(`00-${worker.traceId}-${buildSpan!.spanId}-01`);
  expect(echoed![2]).toBe(worker.traceId);

  // Bot API calls are CLIENT spans (the answer to the press is in the trace); statements are too.
  const answer = trace.find((s) => s.name === "telegram answerCallbackQuery");
  expect(answer?.kind).toBe(CLIENT);
  const statements = trace.filter((s) => attr(s, "db.system.name") === "postgresql");
  expect(statements.length).toBeGreaterThan(0);
  expect(statements.every((s) => s.kind === CLIENT)).toBe(true);
  expect(statements.some((s) => chain(s).join(" > ").startsWith(`${useCase} > transaction`))).toBe(true);

  expect(resources.length).toBeGreaterThan(0);
  for (const r of resources) {
    expect(r["service.name"]).toBe("relctl-serve");
    expect(r["service.version"]).toMatch(/^\d+\.\d+\.\d+/);
  }
}, 180_000);
