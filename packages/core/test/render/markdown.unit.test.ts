import { describe, expect, it } from "vitest";
import {
  escapeMarkdown,
  markdownCodeBlock,
  markdownLink,
  markdownTable,
  renderRunReportMarkdown,
  trusted,
} from "../../src/index.js";

describe("escapeMarkdown", () => {
  it("shows text as text: no HTML, emphasis, code, links, tables, math or block markers", () => {
    expect(escapeMarkdown("<script>alert(1)</script>")).toBe("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(escapeMarkdown("*a* _b_ `c` [d](e) | ~f~ $g$ \\")).toBe(
      "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) \\| \\~f\\~ \\$g\\$ \\\\",
    );
    expect(escapeMarkdown("# heading")).toBe("\\# heading");
    expect(escapeMarkdown("- item")).toBe("\\- item");
    expect(escapeMarkdown("1. item")).toBe("1\\. item");
    expect(escapeMarkdown("v1.2.0 is live on stage-1")).toBe("v1.2.0 is live on stage-1");
    expect(escapeMarkdown("one\ntwo\r\nthree\u0007")).toBe("one two three");
  });
});

describe("markdownTable", () => {
  it("keeps every value in its cell", () => {
    expect(
      markdownTable(
        ["Step", "Took"],
        [
          ["a | b", 3],
          [trusted("[x](https://e.example)"), "`y`"],
        ],
        { right: [1] },
      ),
    ).toBe(
      ["| Step | Took |", "| --- | ---: |", "| a \\| b | 3 |", "| [x](https://e.example) | \\`y\\` |"].join(
        "\n",
      ),
    );
  });
});

describe("markdownCodeBlock and markdownLink", () => {
  it("fences output that itself holds a fence", () => {
    expect(markdownCodeBlock("a\n```\nb")).toBe("````text\na\n```\nb\n````");
  });

  it("links only http(s) URLs", () => {
    expect(markdownLink("run", "https://github.com/a/b/actions/runs/1")).toBe(
      "[run](https://github.com/a/b/actions/runs/1)",
    );
    expect(markdownLink("x", "javascript:alert(1)")).toBe("x");
    expect(markdownLink("x", "https://e.example/a (b)")).toBe("[x](https://e.example/a%20%28b%29)");
  });
});

describe("renderRunReportMarkdown", () => {
  it("renders the result, facts, step table, notes, failure output and links", () => {
    const md = renderRunReportMarkdown({
      title: "relctl production: hello v1.2.0",
      ok: false,
      result: "v1.2.0 failed on production (unhealthy); rolled back to v1.1.0",
      hint: "fix it",
      facts: [["Release", "#3 rollback_done"]],
      codeFacts: [["Trace id", "abc"]],
      parts: [
        {
          title: "Deploy v1.2.0 to production",
          status: "rolled_back",
          message: "rolled back",
          steps: [
            { host: "prod-1", title: "node migrate.mjs up", durationMs: 1200, ok: true },
            { host: "prod-1", title: "GET /health", durationMs: 50, ok: false, detail: "exit 22" },
          ],
          notes: ["deploy of v1.2.0 failed"],
        },
      ],
      links: [{ text: "Workflow run", url: "https://github.com/a/b/actions/runs/1" }],
      notices: ["no service"],
      failureOutput: "500 <b>boom</b>",
    });
    expect(md).toContain("## ❌ relctl production: hello v1.2.0");
    expect(md).toContain("**Next:** fix it");
    expect(md).toContain("| Release | \\#3 rollback\\_done |");
    expect(md).toContain("| Trace id | <code>abc</code> |");
    expect(md).toContain("> [!NOTE]\n> no service");
    expect(md).toContain("| 1 | prod-1 | node migrate.mjs up | 1.2s | ✅ ok |");
    expect(md).toContain("| 2 | prod-1 | GET /health | 50ms | ❌ exit 22 |");
    expect(md).toContain("```text\n500 <b>boom</b>\n```");
    expect(md).toContain("[Workflow run](https://github.com/a/b/actions/runs/1)");
  });
});
