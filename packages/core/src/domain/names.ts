import { UsageError } from "../errors.js";

const SERVICE_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const TAG_RE = /^[A-Za-z0-9._+/-]{1,128}$/;

/** Service names: lowercase letters, digits, `.`, `_`, `-`; starts with a letter or digit; at most 63. */
export function validateService(value: unknown, field = "service"): string {
  if (typeof value !== "string" || !SERVICE_RE.test(value)) {
    throw new UsageError(
      "invalid_service",
      `${field}: ${describe(value)} is not a valid service name (allowed: a-z 0-9 . _ -, starting with a-z or 0-9, at most 63 characters)`,
      { details: { field } },
    );
  }
  return value;
}

/**
 * Tags: letters, digits, `.`, `_`, `-`, `+`, `/`; no leading `-` or `/`, no `..`, no `//`,
 * no trailing `/` or `.`, no `.lock` suffix, at most 128. Stricter than `git check-ref-format`
 * on purpose: a tag is passed to git on remote hosts and must never carry shell syntax.
 */
export function validateTag(value: unknown, field = "tag"): string {
  const problem = tagProblem(value);
  if (problem) {
    throw new UsageError("invalid_tag", `${field}: ${describe(value)} is not an allowed tag (${problem})`, {
      details: { field },
    });
  }
  return value as string;
}

function tagProblem(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length === 0) return "expected a non-empty string";
  if (value.length > 128) return "at most 128 characters";
  if (!TAG_RE.test(value)) return "allowed: letters, digits and . _ - + /";
  if (value.startsWith("-") || value.startsWith("/") || value.startsWith(".")) {
    return "must start with a letter or digit";
  }
  if (value.includes("..") || value.includes("//")) return "no '..' or '//'";
  // git check-ref-format: no part of a ref name starts with '.' or ends with '.lock'.
  if (value.split("/").some((part) => part.startsWith(".") || part.endsWith(".lock"))) {
    return "no part between '/' may start with '.' or end with '.lock'";
  }
  if (value.endsWith("/") || value.endsWith(".") || value.endsWith(".lock")) {
    return "must not end with '/', '.' or '.lock'";
  }
  return undefined;
}

export function isValidTag(value: unknown): value is string {
  return tagProblem(value) === undefined;
}

/** Shows a refused value safely in a one-line message. */
export function describe(value: unknown): string {
  if (typeof value !== "string") return value === undefined ? "nothing" : typeof value;
  const shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  return shown;
}
