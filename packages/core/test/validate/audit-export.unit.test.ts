import { describe, expect, it } from "vitest";
import {
  AUDIT_CHAIN_GENESIS,
  type AuditRecord,
  auditCsvHeader,
  auditCsvLine,
  auditJsonLine,
  auditLinkHash,
  parseAuditAnchor,
  parseAuditTime,
  RelctlError,
} from "../../src/index.js";

const record: AuditRecord = {
  id: 7,
  seq: 6,
  at: "2026-05-01T12:00:00.123456Z",
  actor: "quinn",
  channel: "telegram",
  action: "release.reject",
  releaseId: 3,
  before: null,
  after: '{"role": "qa", "reason": "say \\"no\\",\\nthen go", "n": 12345678901234567890.5}',
  traceId: null,
  prevHash: AUDIT_CHAIN_GENESIS,
  hash: "ab".repeat(32),
};

describe("audit export and chain values", () => {
  it("writes CSV records with RFC 4180 quoting and empty NULLs", () => {
    expect(auditCsvHeader()).toBe(
      "id,seq,at,actor,channel,action,release_id,before,after,trace_id,prev_hash,hash\r\n",
    );
    expect(auditCsvLine(record)).toBe(
      `7,6,2026-05-01T12:00:00.123456Z,quinn,telegram,release.reject,3,,"{""role"": ""qa"", ""reason"": ""say \\""no\\"",\\nthen go"", ""n"": 12345678901234567890.5}",,${AUDIT_CHAIN_GENESIS},${"ab".repeat(32)}\r\n`,
    );
  });

  it("writes a JSON line holding the stored JSON itself, not a re-encoding", () => {
    const line = auditJsonLine(record);
    expect(line.endsWith("}\n")).toBe(true);
    expect(line).toContain('"after":{"role": "qa"');
    expect(line).toContain("12345678901234567890.5");
    expect(JSON.parse(line)).toMatchObject({
      id: 7,
      seq: 6,
      before: null,
      after: { role: "qa" },
      trace_id: null,
    });
  });

  it("hashes each field with its length, so no two contents run together", () => {
    const base = { ...record, actor: "ab", channel: "c" };
    expect(auditLinkHash(AUDIT_CHAIN_GENESIS, 1, base)).not.toBe(
      auditLinkHash(AUDIT_CHAIN_GENESIS, 1, { ...base, actor: "a", channel: "bc" }),
    );
    expect(auditLinkHash(AUDIT_CHAIN_GENESIS, 1, { ...base, traceId: "" })).not.toBe(
      auditLinkHash(AUDIT_CHAIN_GENESIS, 1, base),
    );
    expect(auditLinkHash(AUDIT_CHAIN_GENESIS, 1, base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("reads --since as a date, a date-time or a period back from now", () => {
    const now = new Date("2026-05-10T00:00:00Z");
    expect(parseAuditTime("2026-05-01", "since", now).toISOString()).toBe("2026-05-01T00:00:00.000Z");
    expect(parseAuditTime("2026-05-01T12:30:00Z", "since", now).toISOString()).toBe(
      "2026-05-01T12:30:00.000Z",
    );
    expect(parseAuditTime("2026-05-01T12:30:00+02:00", "since", now).toISOString()).toBe(
      "2026-05-01T10:30:00.000Z",
    );
    expect(parseAuditTime("30d", "since", now).toISOString()).toBe("2026-04-10T00:00:00.000Z");
    expect(parseAuditTime("12h", "since", now).toISOString()).toBe("2026-05-09T12:00:00.000Z");
    for (const bad of ["yesterday", "2026-13-01", "", "-3d", "2026/05/01"]) {
      expect(() => parseAuditTime(bad, "since", now), bad).toThrow(RelctlError);
    }
  });

  it("reads an anchor as verify prints it", () => {
    expect(parseAuditAnchor(`12:${"0f".repeat(32)}`)).toEqual({ seq: 12, hash: "0f".repeat(32) });
    for (const bad of ["12", `0:${"0f".repeat(32)}`, `12:${"0F".repeat(32)}`, "x:y"]) {
      expect(() => parseAuditAnchor(bad), bad).toThrow(/anchor: expected <seq>:<sha256 hex>/);
    }
  });
});
