import type { ApprovalRow, AuditEvent, Locale, Release } from "@relctl/core";
import { hasMessage, translate } from "../i18n.js";
import { type RenderedMessage, roleLabel } from "./render-card.js";

/** The chat line a release change deserves, or undefined (most changes only update the card). Pure. */
export type AuditChange = Pick<AuditEvent, "action" | "after">;

export function renderReleaseNotice(
  locale: Locale,
  event: AuditChange,
  release: Release,
  approvals: readonly ApprovalRow[],
): string | undefined {
  if (event.action !== "release.status") return undefined;
  const status = (event.after as { status?: string } | null)?.status;
  const key = `notice.${status}`;
  if (!status || !hasMessage(key)) return undefined;
  const rejection = approvals.find((a) => a.decision === "reject");
  return translate(locale, key, {
    service: release.service,
    tag: release.tag,
    who: rejection?.user,
    reason: rejection?.reason,
  });
}

/** A deploy-request outcome (`deploy_done`, `rollback_failed`, …) as a chat line. Pure. */
export function renderRequestNotice(
  locale: Locale,
  payload: { notice?: unknown; to_tag?: unknown; error?: unknown },
  release: Release,
): string | undefined {
  const notice = String(payload.notice ?? "");
  const key = notice.startsWith("rollback_")
    ? `notice.rollback_request_${notice.slice(9)}`
    : `notice.${notice}`;
  if (!hasMessage(key)) return undefined;
  const p = payload as Record<string, unknown>;
  return translate(locale, key, {
    service: release.service,
    tag: release.tag,
    to: payload.to_tag as string | null,
    error: payload.error as string | null,
    run: p.run_id as number | undefined,
    kind: p.kind as string | undefined,
    env: p.environment as string | undefined,
    next: p.next as string | undefined,
  });
}

export interface AlertPayload {
  readonly fingerprint?: string;
  readonly starts_at?: string;
  readonly name?: string;
  readonly status?: "firing" | "resolved";
  readonly service?: string | null;
  readonly severity?: string | null;
  readonly summary?: string | null;
  readonly generator_url?: string | null;
  readonly release_id?: number | null;
  readonly tag?: string;
  readonly deployed_at?: string | null;
  readonly deployed_by?: string;
  readonly rollback_to?: string | null;
  readonly approved_by?: readonly { readonly user: string; readonly role: string }[];
}

/** An incident for the alert chat: what fired, what production runs, and the one-press way back. Pure. */
/** What has happened to the incident's release since: a rollback under way, or done. */
export interface IncidentProgress {
  readonly rollback?: { readonly toTag: string | null; readonly requestedBy: string; readonly at: Date };
  readonly rolledBackTo?: string | null;
}

export function renderAlert(
  locale: Locale,
  a: AlertPayload,
  progress: IncidentProgress = {},
): RenderedMessage {
  const lines = [
    translate(locale, a.status === "resolved" ? "alert.resolved" : "alert.firing", {
      name: a.name,
      service: a.service ?? "?",
    }),
  ];
  if (a.severity) lines[0] += ` [${a.severity}]`;
  if (a.summary) lines.push(a.summary);
  if (a.tag) {
    lines.push(
      translate(locale, "alert.production", {
        tag: a.tag,
        at: a.deployed_at ? `${a.deployed_at.slice(0, 16).replace("T", " ")} UTC` : "?",
        by: a.deployed_by,
      }),
    );
  }
  if (a.tag && a.approved_by?.length) {
    const who = a.approved_by.map((x) => `${x.user} (${roleLabel(locale, x.role)})`).join(", ");
    lines.push(translate(locale, "alert.approved", { who }));
  }
  if (a.generator_url) lines.push(a.generator_url);
  if (progress.rollback) {
    const r = progress.rollback;
    lines.push(
      translate(locale, "card.rollback_open", {
        to: r.toTag,
        who: r.requestedBy,
        at: `${r.at.toISOString().slice(11, 16)} UTC`,
      }),
    );
  } else if (progress.rolledBackTo) {
    lines.push(translate(locale, "alert.rolled_back", { to: progress.rolledBackTo }));
  }
  const offerRollback =
    a.status !== "resolved" &&
    a.release_id &&
    a.rollback_to &&
    !progress.rollback &&
    progress.rolledBackTo === undefined;
  return {
    text: lines.join("\n"),
    buttons: offerRollback
      ? [
          [
            {
              label: translate(locale, "button.rollback_to", { tag: a.rollback_to }),
              action: "pick",
              releaseId: a.release_id!,
              params: { to_tag: a.rollback_to },
            },
          ],
        ]
      : [],
  };
}
