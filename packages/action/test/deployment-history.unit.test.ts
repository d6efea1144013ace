import { describe, expect, it } from "vitest";
import { planDeploymentHistory } from "../src/deployment-history.js";
import { parseDeploymentPayload, type RecordedDeployment } from "../src/github-deployments.js";

let id = 0;
const d = (
  tag: string,
  state: RecordedDeployment["state"],
  extra: { kind?: "deploy" | "rollback"; from?: string; schema?: string } = {},
): RecordedDeployment => ({
  id: ++id,
  environment: "production",
  createdAt: "2026-01-01T00:00:00Z",
  state,
  payload: {
    service: "hello",
    tag,
    kind: extra.kind ?? "deploy",
    from_tag: extra.from ?? null,
    schema_version: extra.schema ?? null,
    release_id: null,
    trace_id: "",
  },
});

describe("planDeploymentHistory", () => {
  it("keeps successful switches oldest first; a failed deploy left the one before it running", () => {
    const history = [
      d("v1.0.0", "inactive", { schema: "1" }),
      d("v1.1.0", "success", { schema: "2" }),
      d("v1.2.0", "failure"),
    ];
    expect(planDeploymentHistory([...history].reverse())).toEqual([
      { tag: "v1.0.0", schemaVersion: "1", kind: "deploy" },
      { tag: "v1.1.0", schemaVersion: "2", kind: "deploy" },
    ]);
  });

  it("leaves out a tag that was rolled back from, so it is never a rollback target again", () => {
    const history = [
      d("v1.0.0", "success", { schema: "1" }),
      d("v1.1.0", "success", { schema: "2" }),
      d("v1.2.0", "success", { schema: "3" }),
      d("v1.1.0", "success", { kind: "rollback", from: "v1.2.0", schema: "2" }),
      d("v1.3.0", "in_progress"),
    ];
    expect(planDeploymentHistory(history).map((h) => `${h.kind}:${h.tag}`)).toEqual([
      "deploy:v1.0.0",
      "deploy:v1.1.0",
      "rollback:v1.1.0",
    ]);
  });
});

describe("parseDeploymentPayload", () => {
  it("reads relctl's payload (object or JSON text) and ignores anyone else's", () => {
    const payload = {
      relctl: { service: "hello", tag: "v1.0.0", kind: "deploy", schema_version: "1", from_tag: "x;y" },
    };
    expect(parseDeploymentPayload(payload)).toMatchObject({
      tag: "v1.0.0",
      schema_version: "1",
      from_tag: null,
    });
    expect(parseDeploymentPayload(JSON.stringify(payload))).toMatchObject({ tag: "v1.0.0" });
    expect(
      parseDeploymentPayload({ relctl: { service: "hello", tag: "$(x)", kind: "deploy" } }),
    ).toBeUndefined();
    expect(parseDeploymentPayload({ heroku: {} })).toBeUndefined();
    expect(parseDeploymentPayload("")).toBeUndefined();
  });
});
