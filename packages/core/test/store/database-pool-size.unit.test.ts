import { describe, expect, it } from "vitest";
import { parsePoolSize, resolveDatabaseTarget } from "../../src/adapters/postgres/database.js";

describe("RELCTL_DB_POOL_SIZE", () => {
  it("sizes the pool of a server database; unset keeps the default", () => {
    const url = "postgres://relctl@db/relctl";
    expect(resolveDatabaseTarget({ DATABASE_URL: url, RELCTL_DB_POOL_SIZE: "16" }, "/tmp/x")).toEqual({
      kind: "postgres",
      url,
      poolSize: 16,
    });
    expect(resolveDatabaseTarget({ DATABASE_URL: url }, "/tmp/x")).toEqual({ kind: "postgres", url });
    expect(parsePoolSize(" ")).toBeUndefined();
  });

  it("refuses anything but 1 to 100 connections", () => {
    for (const bad of ["0", "101", "2.5", "ten", "-3"]) {
      expect(() => parsePoolSize(bad)).toThrow(
        /RELCTL_DB_POOL_SIZE: expected a number of connections from 1 to 100/,
      );
    }
  });
});
