import { describe, expect, it } from "vitest";
import { alertDedupeKey, parseAlertmanagerWebhook, RelctlError } from "../../src/index.js";

const body = {
  version: "4",
  status: "firing",
  receiver: "relctl",
  groupKey: "{}",
  alerts: [
    {
      status: "firing",
      labels: { alertname: "Down", service: "auth", severity: "page" },
      annotations: { description: "auth is down" },
      startsAt: "2026-01-01T00:00:00Z",
      fingerprint: "abc",
      extra: "ignored",
    },
  ],
};

describe("parseAlertmanagerWebhook", () => {
  it("reads version 4 and keys repeats by fingerprint, status and start", () => {
    const [alert] = parseAlertmanagerWebhook(body);
    expect(alert).toMatchObject({ name: "Down", service: "auth", severity: "page", summary: "auth is down" });
    expect(alertDedupeKey(alert!)).toBe("abc:firing:2026-01-01T00:00:00Z");
    expect(alertDedupeKey({ ...alert!, status: "resolved" })).not.toBe(alertDedupeKey(alert!));
  });

  it("names the field it refuses", () => {
    const bad = { ...body, alerts: [{ ...body.alerts[0], fingerprint: 5 }] };
    expect(() => parseAlertmanagerWebhook(bad)).toThrowError(/^alerts\[0\]\.fingerprint: /);
    expect(() => parseAlertmanagerWebhook({ ...body, version: "3" })).toThrowError(RelctlError);
  });
});
