// End-to-end check of the sample service against a real PostgreSQL: build the repository, check out
// every tag the way a host would (clone, npm ci), migrate, run, roll back. The tests form one
// scenario and run in order, sharing one throwaway database.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHelloRepo, type HelloRepo, RELEASES } from "../scripts/create-repo.mjs";

const ADMIN_URL = process.env.TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const APP_DIR = fileURLToPath(new URL("../app/", import.meta.url));
const CREATE_REPO = fileURLToPath(new URL("../scripts/create-repo.mjs", import.meta.url));
const TAGS = ["v1.0.0", "v1.1.0", "v1.2.0"] as const;
type Tag = (typeof TAGS)[number];

// The bits of postgres.js used here; the library itself is loaded from a checkout's node_modules.
type Row = Record<string, unknown>;
interface Sql {
  (strings: TemplateStringsArray, ...values: unknown[]): Promise<Row[]>;
  unsafe(query: string): Promise<Row[]>;
  end(options?: { timeout?: number }): Promise<void>;
}
type Postgres = (url: string, options?: Record<string, unknown>) => Sql;

// npm must not see the npm_config_* variables pnpm puts in the environment.
const childEnv = Object.fromEntries(
  Object.entries(process.env).filter(([key]) => !key.startsWith("npm_config_")),
);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(cmd, args, { cwd, env: { ...childEnv, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== "number") throw err;
    return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, "close");
  return port;
}

let tmp: string;
let repo: HelloRepo & { bareDir: string };
const checkouts = {} as Record<Tag, string>;
let admin: Sql;
let db: Sql;
let dbName: string;
let databaseUrl: string;
const running = new Set<ChildProcess>();

const migrate = (tag: Tag, ...args: string[]) =>
  run("node", ["migrate.mjs", ...args], checkouts[tag], { DATABASE_URL: databaseUrl });

/** Start a checkout's server on a free port; resolves once it listens. */
async function startServer(tag: Tag, url = databaseUrl, extraEnv: Record<string, string> = {}) {
  const port = await freePort();
  const pidfile = join(tmp, `${tag}.pid`);
  const child = spawn("node", ["server.mjs"], {
    cwd: checkouts[tag],
    env: {
      ...childEnv,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: url,
      PIDFILE: pidfile,
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  running.add(child);
  const exited = once(child, "exit").then(([code]) => code as number | null);
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk;
      if (out.includes("listening")) resolve();
    });
    exited.then((code) => reject(new Error(`server ${tag} exited with ${code} before listening: ${out}`)));
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pidfile,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      const code = await exited;
      running.delete(child);
      return code;
    },
  };
}

async function get(url: string) {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

async function tables() {
  const rows =
    await db`select table_name from information_schema.tables where table_schema = 'public' order by 1`;
  return rows.map((r) => r.table_name);
}

async function columns(table: string) {
  const rows = await db`
    select column_name from information_schema.columns
    where table_schema = 'public' and table_name = ${table} order by ordinal_position`;
  return rows.map((r) => r.column_name);
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), "hello-service-"));
  repo = await createHelloRepo({ dir: join(tmp, "repo") });
  for (const tag of TAGS) {
    checkouts[tag] = join(tmp, tag);
    const clone = await run(
      "git",
      ["-c", "advice.detachedHead=false", "clone", "--quiet", "--branch", tag, repo.bareDir, checkouts[tag]],
      tmp,
    );
    expect(clone.code, clone.stderr).toBe(0);
    const ci = await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], checkouts[tag]);
    expect(ci.code, ci.stderr).toBe(0);
  }

  const postgresEntry = createRequire(join(checkouts["v1.0.0"], "package.json")).resolve("postgres");
  const postgres: Postgres = (await import(pathToFileURL(postgresEntry).href)).default;
  dbName = `hello_test_${randomBytes(6).toString("hex")}`;
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${dbName}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${dbName}`;
  databaseUrl = url.href;
  db = postgres(databaseUrl, { max: 1, onnotice: () => {} });
});

afterAll(async () => {
  for (const child of running) child.kill("SIGKILL");
  await db?.end({ timeout: 5 });
  if (dbName) await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin?.end({ timeout: 5 });
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("hello-service", () => {
  it("builds a repository with one tag per release; v1.2.0 is app/ as it is", async () => {
    expect(repo.tags).toEqual([...TAGS]);
    expect(RELEASES.map((r) => r.tag)).toEqual([...TAGS]);
    const bareTags = await run("git", ["tag", "--list"], repo.bareDir);
    expect(bareTags.stdout.trim().split("\n")).toEqual([...TAGS]);

    const files = (await run("git", ["ls-tree", "-r", "--name-only", "HEAD"], checkouts["v1.2.0"])).stdout;
    for (const file of files.trim().split("\n")) {
      const [ours, app] = await Promise.all([
        readFile(join(checkouts["v1.2.0"], file)),
        readFile(join(APP_DIR, file)),
      ]);
      expect(ours.equals(app), file).toBe(true);
    }
    expect(existsSync(join(checkouts["v1.0.0"], "migrations/0002_add_lang_and_visits.up.sql"))).toBe(false);
    expect((await readFile(join(checkouts["v1.1.0"], "VERSION"), "utf8")).trim()).toBe("1.1.0");
  });

  it("CLI prints the bare repository path and refuses a non-empty directory", async () => {
    const dir = join(tmp, "cli");
    const first = await run("node", [CREATE_REPO, dir], tmp);
    expect(first).toMatchObject({ code: 0, stdout: `${join(dir, "hello.git")}\n` });
    const again = await run("node", [CREATE_REPO, dir], tmp);
    expect(again.code).toBe(2);
    expect(again.stderr).toBe(`create-repo: ${dir} exists and is not empty\n`);
  });

  it("version prints 0 on an empty database; concurrent `up` runs take turns", async () => {
    expect(await migrate("v1.0.0", "version")).toMatchObject({ code: 0, stdout: "0\n" });
    const [a, b] = await Promise.all([migrate("v1.0.0", "up"), migrate("v1.0.0", "up")]);
    expect(a).toMatchObject({ code: 0, stdout: "1\n" });
    expect(b).toMatchObject({ code: 0, stdout: "1\n" });
    expect(await db`select version from schema_migrations`).toEqual([{ version: 1 }]);
    expect(await db`select text from greetings`).toEqual([{ text: "hello" }]);
  });

  it("v1.0.0 is healthy at schema 1 and stops cleanly on SIGTERM", async () => {
    const server = await startServer("v1.0.0");
    expect(await get(`${server.base}/health`)).toEqual({
      status: 200,
      body: JSON.stringify({ status: "ok", version: "1.0.0", schema: 1 }),
    });
    expect(await get(`${server.base}/`)).toEqual({ status: 200, body: "hello from 1.0.0\n" });
    expect(await readFile(server.pidfile, "utf8")).toBe(`${server.pid}\n`);
    expect(await server.stop()).toBe(0);
    expect(existsSync(server.pidfile)).toBe(false);
  });

  it("v1.1.0 migrates to 2, is healthy and records visits", async () => {
    expect(await migrate("v1.1.0", "up")).toMatchObject({ code: 0, stdout: "2\n" });
    const server = await startServer("v1.1.0");
    expect(await get(`${server.base}/health`)).toEqual({
      status: 200,
      body: JSON.stringify({ status: "ok", version: "1.1.0", schema: 2 }),
    });
    await get(`${server.base}/`);
    await get(`${server.base}/`);
    expect(await db`select count(*)::int as n from visits`).toEqual([{ n: 2 }]);
    expect(await columns("greetings")).toEqual(["id", "text", "lang"]);
    expect(await server.stop()).toBe(0);
  });

  it("v1.2.0 migrates to 3; its /health answers 500 without FEATURE_FLAGS_URL, 200 with it", async () => {
    expect(await migrate("v1.2.0", "up")).toMatchObject({ code: 0, stdout: "3\n" });
    const server = await startServer("v1.2.0");
    const health = await get(`${server.base}/health`);
    expect(health.status).toBe(500);
    expect(JSON.parse(health.body)).toMatchObject({ status: "broken", version: "1.2.0", schema: 3 });
    expect(await server.stop()).toBe(0);
    const configured = await startServer("v1.2.0", databaseUrl, {
      FEATURE_FLAGS_URL: "http://flags.invalid",
    });
    expect(await get(`${configured.base}/health`)).toEqual({
      status: 200,
      body: JSON.stringify({ status: "ok", version: "1.2.0", schema: 3 }),
    });
    expect(await configured.stop()).toBe(0);
  });

  it("down fails without touching the schema when a down file is missing from the checkout", async () => {
    const before = await tables();
    const result = await migrate("v1.1.0", "down", "1");
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/cannot roll back to 1: no down file for migration 0003/);
    expect(await tables()).toEqual(before);
    expect(before).toContain("feature_flags");
    expect(await migrate("v1.1.0", "version")).toMatchObject({ code: 0, stdout: "3\n" });
  });

  it("rolls back to v1.1.0: down 2 from the v1.2.0 checkout, then v1.1.0 is healthy", async () => {
    expect(await migrate("v1.2.0", "down", "2")).toMatchObject({ code: 0, stdout: "2\n" });
    expect(await tables()).not.toContain("feature_flags");
    const server = await startServer("v1.1.0");
    expect(await get(`${server.base}/health`)).toEqual({
      status: 200,
      body: JSON.stringify({ status: "ok", version: "1.1.0", schema: 2 }),
    });
    expect(await server.stop()).toBe(0);
  });

  it("down 1 from the v1.1.0 checkout drops visits and greetings.lang", async () => {
    expect(await migrate("v1.1.0", "down", "1")).toMatchObject({ code: 0, stdout: "1\n" });
    expect(await tables()).toEqual(["greetings", "schema_migrations"]);
    expect(await columns("greetings")).toEqual(["id", "text"]);
    expect(await migrate("v1.1.0", "version")).toMatchObject({ code: 0, stdout: "1\n" });
  });

  it("down 0 drops everything, and up rebuilds it", async () => {
    expect(await migrate("v1.0.0", "down", "0")).toMatchObject({ code: 0, stdout: "0\n" });
    expect(await tables()).toEqual(["schema_migrations"]);
    expect(await db`select count(*)::int as n from schema_migrations`).toEqual([{ n: 0 }]);
    expect(await migrate("v1.2.0", "up")).toMatchObject({ code: 0, stdout: "3\n" });
    expect(await tables()).toEqual(["feature_flags", "greetings", "schema_migrations", "visits"]);
  });

  it("answers 503 on /health when the database is unreachable", async () => {
    const url = new URL(databaseUrl);
    url.port = String(await freePort());
    const server = await startServer("v1.1.0", url.href);
    const health = await get(`${server.base}/health`);
    expect(health.status).toBe(503);
    expect(JSON.parse(health.body)).toMatchObject({ status: "unavailable", version: "1.1.0" });
    expect(await server.stop()).toBe(0);
  });

  it("rejects bad usage with exit code 1", async () => {
    expect(await migrate("v1.0.0", "down")).toMatchObject({ code: 1, stdout: "" });
    expect(await migrate("v1.0.0", "sideways")).toMatchObject({ code: 1, stdout: "" });
    const noUrl = await run("node", ["migrate.mjs", "version"], checkouts["v1.0.0"], { DATABASE_URL: "" });
    expect(noUrl).toMatchObject({ code: 1, stdout: "", stderr: "migrate: DATABASE_URL is not set\n" });
  });
});
