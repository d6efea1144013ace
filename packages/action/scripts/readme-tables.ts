import { parse } from "yaml";

interface ActionSpec {
  readonly inputs?: Record<string, { description?: string; required?: boolean; default?: unknown }>;
  readonly outputs?: Record<string, { description?: string }>;
}

/** A description as one table cell: its own Markdown kept, line breaks folded, pipes escaped. */
function cell(text: string): string {
  return text
    .replace(/\s*\n\s*/g, " ")
    .trim()
    .replace(/\|/g, "\\|");
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "")}\``;
}

/** A Markdown table with padded columns (the layout the formatter keeps). */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(3, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

/** The inputs and outputs tables of the action's README, generated from action.yml. */
export function renderActionTables(actionYml: string): { inputs: string; outputs: string } {
  const spec = parse(actionYml) as ActionSpec;
  const inputs = table([
    ["Input", "Required", "Default", "Description"],
    ...Object.entries(spec.inputs ?? {}).map(([name, i]) => [
      code(name),
      i.required ? "yes" : "no",
      i.default === undefined || i.default === "" ? "" : code(String(i.default)),
      cell(i.description ?? ""),
    ]),
  ]);
  const outputs = table([
    ["Output", "Description"],
    ...Object.entries(spec.outputs ?? {}).map(([name, o]) => [code(name), cell(o.description ?? "")]),
  ]);
  return { inputs, outputs };
}

/** Puts the tables between the README's `<!-- inputs -->`/`<!-- outputs -->` markers. */
export function writeActionTables(readme: string, actionYml: string): string {
  const tables = renderActionTables(actionYml);
  let out = readme;
  for (const [name, table] of Object.entries(tables)) {
    const start = `<!-- ${name}:start (generated from action.yml: pnpm --filter @relctl/action run generate) -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(start);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md: the ${name} markers are missing`);
    out = `${out.slice(0, from + start.length)}\n${table}\n${out.slice(to)}`;
  }
  return out;
}
