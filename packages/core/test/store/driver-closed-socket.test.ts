import { ADMIN_URL } from "@relctl/testkit";
import postgres from "postgres";
import { afterAll, beforeAll, expect, it } from "vitest";

// postgres.js defers small writes with setImmediate; on a connection the server has already closed,
// the unpatched driver throws an uncatchable TypeError from that timer and takes the whole process
// down (porsager/postgres#1154, #1208). patches/postgres@3.4.9.patch guards it.
let admin: postgres.Sql;
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);

beforeAll(() => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  process.on("uncaughtException", onUncaught);
});
afterAll(async () => {
  process.off("uncaughtException", onUncaught);
  await admin.end();
});

it("a query on a connection the server has closed does not crash the process", async () => {
  const sql = postgres(ADMIN_URL, { max: 2, onnotice: () => {} });
  const reserved = await sql.reserve();
  const [{ pid }] = (await reserved`SELECT pg_backend_pid() AS pid`) as unknown as [{ pid: number }];
  await admin`SELECT pg_terminate_backend(${pid})`;
  await new Promise((r) => setTimeout(r, 100)); // the driver has seen the connection close
  // The write is deferred to the next turn of the event loop; unpatched, that turn throws.
  void reserved`SELECT 1`.catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  expect(uncaught).toEqual([]);
  // The pool's other connection still answers.
  expect(await sql`SELECT 2 AS n`).toEqual([{ n: 2 }]);
  await sql.end({ timeout: 1 });
});
