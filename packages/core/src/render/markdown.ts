/**
 * Markdown for places GitHub renders (job summaries, comments). Every value that did not come
 * from relctl itself (tags, host names, command titles, remote output) goes through one of these
 * functions, so it shows as text: never as markup, HTML, a link, math or a broken table.
 */

const HTML: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" };

/** Escapes `& < > "` for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML[c]!);
}

/**
 * One line of plain text as Markdown: HTML-escaped; emphasis, code, link, table, strikethrough
 * and math punctuation backslash-escaped; a leading heading, list or numbered-list marker
 * escaped; line breaks folded into spaces; control characters dropped.
 */
export function escapeMarkdown(text: string): string {
  return escapeHtml(
    text
      .replace(/\r\n?|\n/g, " ")
      // biome-ignore lint/suspicious/noControlCharactersInRegex: dropping control characters is the point
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ""),
  )
    .replace(/[\\`*_[\]|~$]/g, "\\$&")
    .replace(/^(\s*)(#|[+-](?=\s|$))/, "$1\\$2")
    .replace(/^(\s*\d{1,9})([.)])(?=\s|$)/, "$1\\$2");
}

/** Inline code that shows any text literally (HTML `<code>`, so backticks in the text cannot end it). */
export function markdownCode(text: string): string {
  return `<code>${escapeHtml(text.replace(/\r\n?|\n/g, " "))}</code>`;
}

/** A fenced block that shows multi-line text literally; the fence is longer than any backtick run inside. */
export function markdownCodeBlock(text: string, info = "text"): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}${info}\n${text.replace(/\r\n?/g, "\n").replace(/\n+$/, "")}\n${fence}`;
}

/** A link when the URL is http(s); otherwise just the escaped text. */
export function markdownLink(text: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return escapeMarkdown(text);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return escapeMarkdown(text);
  const href = parsed.href.replace(/[()<> ]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `[${escapeMarkdown(text)}](${href})`;
}

/** Markdown that is already safe (built by these functions); a table cell takes it as it is. */
export interface TrustedMarkdown {
  readonly markdown: string;
}

export const trusted = (markdown: string): TrustedMarkdown => ({ markdown });

export type MarkdownCell = string | number | TrustedMarkdown;

function cell(value: MarkdownCell): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return escapeMarkdown(value) || " ";
  // A pipe inside trusted cell markup (e.g. in a link text) must not split the cell.
  return value.markdown.replace(/(?<!\\)\|/g, "\\|") || " ";
}

/** A GitHub table. Strings are plain text (escaped); `right` columns align right. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly MarkdownCell[])[],
  options: { readonly right?: readonly number[] } = {},
): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [
    // Column labels are relctl's own words; only a pipe could break them.
    line(header.map((h) => escapeHtml(h).replace(/\|/g, "\\|") || " ")),
    line(header.map((_, i) => (options.right?.includes(i) ? "---:" : "---"))),
    ...rows.map((r) => line(header.map((_, i) => cell(r[i] ?? "")))),
  ].join("\n");
}
