import { COMMANDS } from "./index.js";

interface FlagLike {
  readonly type: string;
  readonly char?: string;
  readonly required?: boolean;
  readonly multiple?: boolean;
  readonly options?: readonly string[];
  readonly default?: unknown;
  readonly description?: string;
}

interface CommandLike {
  readonly summary?: string;
  readonly args?: Record<string, { required?: boolean; description?: string }>;
  readonly flags?: Record<string, FlagLike>;
  readonly baseFlags?: Record<string, FlagLike>;
  readonly enableJsonFlag?: boolean;
}

/** The CLI's public surface: every command, its arguments and flags. Committed as surface.json. */
export function buildCliSurface(): Record<string, unknown> {
  const commands: Record<string, unknown> = {};
  for (const [id, cmd] of Object.entries(COMMANDS).sort(([a], [b]) => a.localeCompare(b))) {
    const c = cmd as unknown as CommandLike;
    const flags = { ...c.baseFlags, ...c.flags };
    commands[id.replaceAll(":", " ")] = {
      summary: c.summary ?? "",
      args: Object.fromEntries(
        Object.entries(c.args ?? {}).map(([name, a]) => [
          name,
          { required: Boolean(a.required), description: a.description ?? "" },
        ]),
      ),
      flags: Object.fromEntries(
        Object.entries(flags)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, f]) => [
            name,
            {
              type: f.type,
              required: Boolean(f.required),
              ...(f.options ? { options: f.options } : {}),
              ...(f.default !== undefined && typeof f.default !== "function" ? { default: f.default } : {}),
            },
          ]),
      ),
      json: c.enableJsonFlag !== false,
    };
  }
  return { bin: "relctl", commands };
}
