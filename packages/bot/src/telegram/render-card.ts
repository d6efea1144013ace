import type { ApprovalRow, AuditEvent, Locale, Release, RoleProgress, RunState } from "@relctl/core";
import { hasMessage, type MessageKey, translate } from "../i18n.js";

export type ButtonAction =
  | "approve"
  | "reject"
  | "rollback"
  | "pick"
  | "confirm"
  | "cancel"
  | "menu"
  | "open";

export interface ButtonSpec {
  readonly label: string;
  readonly action: ButtonAction;
  readonly releaseId?: number;
  readonly params?: Readonly<Record<string, unknown>>;
}

/** A message as relctl means it, before its buttons get callback ids. */
export interface RenderedMessage {
  readonly text: string;
  readonly buttons: readonly (readonly ButtonSpec[])[];
}

export interface CardInput {
  readonly release: Release;
  readonly progress: readonly RoleProgress[];
  readonly approvals: readonly ApprovalRow[];
  readonly history: readonly AuditEvent[];
  readonly locale: Locale;
  /** The release is what its environment runs now: only then does the card offer a rollback. */
  readonly live?: boolean;
  /** The open rollback request of its service, when this release is the one it rolls back. */
  readonly openRollback?: { readonly toTag: string | null; readonly requestedBy: string; readonly at: Date };
  /** Its latest runbook run: under way, interrupted, or ended (a rolled-back one says why). */
  readonly run?: Pick<RunState, "state" | "next"> & {
    readonly run: Pick<RunState["run"], "id" | "kind" | "environment"> &
      Partial<Pick<RunState["run"], "status" | "error">>;
  };
}

const STATE_ICON: Record<RoleProgress["state"], string> = {
  approved: "✅",
  waiting: "⏳",
  blocked: "⏸",
  rejected: "❌",
};

/**
 * What a card shows in one state. A button is valid only while the release is in the state the card
 * showed: status plus the number of approvals identifies it, since statuses never repeat and
 * approvals only grow.
 */
export function cardVersion(release: Pick<Release, "status" | "approvedList">): string {
  return `${release.status}/${release.approvedList.length}`;
}

/** A status as people read it ("manual testing", "ручное тестирование"); the id where none is known. */
export function statusLabel(locale: Locale, status: string): string {
  const key = `status.${status}`;
  return hasMessage(key) ? translate(locale, key) : status;
}

export function roleLabel(locale: Locale, role: string): string {
  const key = `role.${role}`;
  return hasMessage(key) ? translate(locale, key) : role;
}

/** The release card: service, tag, status, each required approval, run link, history, buttons. Pure. */
export function renderCard(input: CardInput): RenderedMessage {
  const { release: r, locale } = input;
  const t = (key: MessageKey, params = {}) => translate(locale, key, params);
  const lines = [
    `${r.service} ${r.tag} — #${r.id}`,
    `${t("card.status")}: ${statusLabel(locale, r.status)}`,
    "",
  ];
  lines.push(`${t("card.approvals")}:`);
  for (const p of input.progress) {
    const who = p.approvedBy.length ? ` — ${p.approvedBy.join(", ")}` : "";
    lines.push(`${STATE_ICON[p.state]} ${roleLabel(locale, p.role)}${who}`);
  }
  const rejection = input.approvals.find((a) => a.decision === "reject");
  if (rejection) {
    lines.push(
      "",
      t("card.rejected", {
        who: rejection.user,
        role: roleLabel(locale, rejection.role),
        reason: shorten(rejection.reason ?? ""),
      }),
    );
  }
  if (r.rollbackToTag && ["production_rollback", "rollback_done", "rollback_failed"].includes(r.status)) {
    lines.push("", t("card.rollback_to", { tag: r.rollbackToTag }));
  }
  if (input.openRollback) {
    const o = input.openRollback;
    lines.push(
      "",
      t("card.rollback_open", {
        to: o.toTag,
        who: o.requestedBy,
        at: `${o.at.toISOString().slice(11, 16)} UTC`,
      }),
    );
  }
  const run = input.run;
  if (run && run.state !== "ended") {
    const params = { run: run.run.id, kind: run.run.kind, env: run.run.environment, next: run.next ?? "" };
    lines.push("", t(run.state === "interrupted" ? "card.run_interrupted" : "card.run_in_progress", params));
  } else if (run?.run.error && (run.run.status === "rolled_back" || run.run.status === "rollback_failed")) {
    // Why a deploy was rolled back (an unhealthy host, a failed analysis in the canary's bake).
    lines.push(
      "",
      t(run.run.status === "rolled_back" ? "card.run_rolled_back" : "card.run_rollback_failed", {
        run: run.run.id,
        env: run.run.environment,
        reason: run.run.error.slice(0, 600),
      }),
    );
  }
  if (r.githubActionLink) lines.push("", `${t("card.run")}: ${r.githubActionLink}`);
  const history = input.history.map((e) => historyLine(locale, e)).filter((l): l is string => Boolean(l));
  if (history.length) lines.push("", `${t("card.history")}:`, ...history.slice(-20));
  const buttons: ButtonSpec[][] = [];
  if (r.status === "manual_testing") {
    buttons.push([
      { label: t("button.approve"), action: "approve", releaseId: r.id },
      { label: t("button.reject"), action: "reject", releaseId: r.id },
    ]);
  }
  if (r.status === "deployed" && input.live && !input.openRollback)
    buttons.push([{ label: t("button.rollback"), action: "rollback", releaseId: r.id }]);
  return { text: lines.join("\n"), buttons };
}

function historyLine(locale: Locale, e: AuditEvent): string | undefined {
  const time = e.at.toISOString().slice(11, 16);
  const after = (e.after ?? {}) as { status?: string; role?: string; reason?: string };
  const text = (() => {
    switch (e.action) {
      case "release.create":
        return translate(locale, "history.create", { who: e.actor });
      case "release.status":
        return translate(locale, "history.status", {
          status: after.status ? statusLabel(locale, after.status) : "",
          who: e.actor,
        });
      case "release.approve":
        return translate(locale, "history.approve", {
          role: roleLabel(locale, after.role ?? ""),
          who: e.actor,
        });
      case "release.reject":
        return translate(locale, "history.reject", {
          role: roleLabel(locale, after.role ?? ""),
          who: e.actor,
          reason: shorten(after.reason ?? ""),
        });
      default:
        return undefined;
    }
  })();
  return text ? `${time} ${text}` : undefined;
}

export type MenuGroup = "active" | "successful" | "failed";
export const MENU_GROUPS: readonly MenuGroup[] = ["active", "successful", "failed"];

/** The menu: three lists, as the seed draws it, each with how many releases it holds. */
export function renderMenu(locale: Locale, counts?: Readonly<Record<MenuGroup, number>>): RenderedMessage {
  return {
    text: translate(locale, "menu.title"),
    buttons: MENU_GROUPS.map((group) => [
      {
        label: `${translate(locale, `menu.${group}`)}${counts ? ` (${countLabel(counts[group])})` : ""}`,
        action: "menu",
        params: { group },
      },
    ]),
  };
}

/** At most LIST_LIMIT releases are listed; a count past it says so. */
export const LIST_LIMIT = 20;
const countLabel = (n: number) => (n > 99 ? "99+" : String(n));

/** One list of the menu, edited in place of the menu, with a Back button to it. */
export function renderReleaseList(
  locale: Locale,
  group: MenuGroup,
  releases: readonly Release[],
  total = releases.length,
): RenderedMessage {
  const back = [
    { label: translate(locale, "button.back"), action: "menu" as const, params: { group: "root" } },
  ];
  if (releases.length === 0) return { text: translate(locale, "menu.empty"), buttons: [back] };
  const more =
    total > releases.length ? `\n${translate(locale, "menu.more", { shown: releases.length, total })}` : "";
  return {
    text: `${translate(locale, `menu.${group}`)} (${total})${more}`,
    buttons: [
      ...releases.map((r) => [
        {
          label: `${r.service} ${r.tag} · ${statusLabel(locale, r.status)}`,
          action: "open" as const,
          releaseId: r.id,
        },
      ]),
      back,
    ],
  };
}

/** A reason as a card shows it: at most 300 characters, so a card stays well within Telegram's 4096. */
function shorten(text: string): string {
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}
