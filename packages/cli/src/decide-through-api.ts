import type { PersonalApi } from "./personal-api.js";

/** How approve, reject and rollback say who acts, in their --help. */
export const IDENTITY_HELP =
  "Who acts: with an approvals service (RELCTL_API_URL) this goes through its API as the member you logged in as (relctl login), with the same checks as a Telegram press; --as is refused there. Without RELCTL_API_URL the command works on the database itself: administrator mode, acting as --as, $RELCTL_USER or the OS user, recorded in the audit under the channel cli-admin.";

export interface Output {
  log(line: string): void;
  note(line: string): void;
}

interface RemoteApproval {
  role: string;
  state: string;
  approved_by: string[];
}

const ICON: Record<string, string> = { approved: "✓", waiting: "…", rejected: "✗" };

/** Approves or rejects through the API (POST /release/:id/approve|reject) as the logged-in member. */
export async function decideThroughApi(
  out: Output,
  api: PersonalApi,
  id: number,
  decision: "approve" | "reject",
  body: { role?: string; reason?: string },
): Promise<Record<string, unknown>> {
  const answer = await api.call("POST", `/release/${id}/${decision}`, body);
  const approvals = (answer.approvals ?? []) as RemoteApproval[];
  out.log(
    [
      `release ${String(answer.release_id)}  ${String(answer.service_name)} ${String(answer.release_tag)}  ${String(answer.status)}`,
      `  approvals: ${approvals
        .map(
          (a) =>
            `${ICON[a.state] ?? "·"} ${a.role}${a.approved_by.length ? ` (${a.approved_by.join(", ")})` : ""}`,
        )
        .join("  ")}`,
    ].join("\n"),
  );
  if (typeof answer.next === "string") out.note(answer.next);
  return answer;
}

/** Asks the approvals service for a rollback (POST /rollback) as the logged-in member. */
export async function rollbackThroughApi(
  out: Output,
  api: PersonalApi,
  body: { service: string; environment: string; to_tag: string },
): Promise<Record<string, unknown>> {
  const answer = await api.call("POST", "/rollback", body);
  const request = answer.request as { id: number; state: string; requested_by: string };
  out.log(
    `rollback of ${body.service} on ${body.environment} to ${body.to_tag} requested by ${request.requested_by} (request ${request.id}, ${request.state})`,
  );
  if (typeof answer.next === "string") out.note(answer.next);
  return answer;
}
