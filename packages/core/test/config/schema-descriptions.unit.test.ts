import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";

/** The dot-path of every property of the JSON Schema (at any depth) that has no description. */
function undescribed(node: unknown, path: string, out: string[]): string[] {
  if (Array.isArray(node)) {
    for (const item of node) undescribed(item, path, out);
    return out;
  }
  if (node === null || typeof node !== "object") return out;
  const schema = node as Record<string, unknown>;
  const properties = schema.properties as Record<string, Record<string, unknown>> | undefined;
  for (const [key, value] of Object.entries(properties ?? {})) {
    const at = path ? `${path}.${key}` : key;
    if (typeof value?.description !== "string" || value.description.trim() === "") out.push(at);
    undescribed(value, at, out);
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === "properties") continue;
    // A map's values (environments.<name>) and a list's items keep the path of their key.
    undescribed(value, key === "additionalProperties" ? `${path}.<name>` : path, out);
  }
  return out;
}

it("every key of relctl.yml has a description in the JSON Schema", () => {
  const file = join(import.meta.dirname, "..", "..", "relctl.schema.json");
  const schema = JSON.parse(readFileSync(file, "utf8")) as unknown;
  expect(undescribed(schema, "", [])).toEqual([]);
});

it("the walk finds a key without a description, however deep", () => {
  const schema = {
    properties: {
      a: {
        description: "A.",
        additionalProperties: { properties: { b: { type: "string" } } },
      },
      c: { anyOf: [{ type: "string" }, { properties: { d: { description: "" } } }] },
    },
  };
  expect(undescribed(schema, "", [])).toEqual(["a.<name>.b", "c", "c.d"]);
});
