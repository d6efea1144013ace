import { formatPath, UsageError } from "@relctl/core";
import { z } from "zod";

const text = (max: number) => z.string().max(max);
const runId = z.union([z.string().max(64), z.number().int().nonnegative()]).transform(String);

/** POST /release: the seed's `{service, tag}` and the optional fields of its data model. */
export const createReleaseBody = z.strictObject({
  service: z.string(),
  tag: z.string(),
  rollback_to_tag: text(128).nullish(),
  initiated_by: z
    .string()
    .regex(/^[A-Za-z0-9@._:+-]{1,64}$/, { message: "expected a user or GitHub login" })
    .nullish(),
  github_run_id: runId.nullish(),
  github_action_link: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullish(),
  github_ref: text(255).nullish(),
});

/** PATCH /release: the seed's `{release_id, status}` plus what a status change may also set. */
export const updateReleaseBody = z.strictObject({
  release_id: z.union([z.number(), z.string()]),
  status: z.string(),
  rollback_to_tag: text(128).nullish(),
  github_run_id: runId.nullish(),
  github_action_link: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .nullish(),
});

/** POST /release/:id/approve and /reject, with a member's token (a `role` given must be the one recorded). */
export const decisionBody = z.strictObject({
  reason: text(500).optional(),
  role: text(32).optional(),
});

/** POST /rollback, with a member's personal token: the same request as the Telegram button. */
export const rollbackBody = z.strictObject({
  service: z.string(),
  to_tag: z.string(),
  /** Default: the service's primary gate (where its approvals lead and its cards roll back). */
  environment: text(32).optional(),
});

export const listReleasesQuery = z.strictObject({
  state: z.enum(["active", "successful", "failed"]).optional(),
  service: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});

/** Parses a request part; the 400 names the field: `tag: expected string, received number`. */
export function parseRequest<T extends z.ZodType>(schema: T, value: unknown, where = "body"): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = formatPath(issue.path);
  const message =
    issue.code === "unrecognized_keys"
      ? `${issue.keys.map((k) => `${k}`).join(", ")}: unknown field`
      : `${path || where}: ${issue.message.replace(/^Invalid input: /, "")}`;
  const field = issue.code === "unrecognized_keys" ? issue.keys[0] : path;
  throw new UsageError("invalid_body", message, { details: { field } });
}
