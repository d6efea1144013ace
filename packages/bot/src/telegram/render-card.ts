import type { ApprovalRow, AuditEvent, Locale, Release, RoleProgress, RunState } from "@relctl/core";
import { hasMessage, type MessageKey, translate } from "../i18n.js";

export type ButtonAction =
  | "approve"
  | "reject"
  | "rollback"
  | "pick"
  | "confirm"
  | "cancel"
  | "back"
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
  /** The IANA time zone the card's dates are written in (RELCTL_TIME_ZONE); UTC when not given. */
  readonly timeZone?: string;
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
        at: formatWhen(o.at, input.timeZone),
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
  const history = input.history
    .map((e) => historyLine(locale, e, input.timeZone))
    .filter((l): l is string => Boolean(l));
  const head = lines.join("\n");
  if (history.length) lines.push("", `${t("card.history")}:`, ...fitHistory(head, history));
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

/** A card's text stays below Telegram's 4096 characters: the oldest lines but the first give way. */
const CARD_LIMIT = 4000;

function fitHistory(head: string, history: readonly string[]): string[] {
  const size = (ls: readonly string[]) => ls.reduce((n, l) => n + l.length + 1, head.length + 40);
  if (size(history) <= CARD_LIMIT) return [...history];
  const kept = [history[0]!, "…"];
  const tail: string[] = [];
  for (let i = history.length - 1; i > 0; i--) {
    if (size([...kept, history[i]!, ...tail]) > CARD_LIMIT) break;
    tail.unshift(history[i]!);
  }
  return [...kept, ...tail];
}

/**
 * A moment as cards write it: date, time and time zone ("2025-05-01 14:03 UTC", or
 * "2025-05-01 17:03 UTC+03:00" in Europe/Moscow). Pure.
 */
export function formatWhen(at: Date, timeZone = "UTC"): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = (parts.timeZoneName ?? "GMT").replace(/^GMT/, "");
  const zone = offset === "" || offset === "+00:00" ? "UTC" : `UTC${offset}`;
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${zone}`;
}

type HistoryAfter = {
  status?: string;
  role?: string;
  reason?: string;
  to_tag?: string | null;
  error?: string;
  run_url?: string;
  run_id?: number;
  kind?: string;
  environment?: string;
};

/** One step of the release's story, as its card's History lists it (undefined: not shown). */
function historyLine(locale: Locale, e: AuditEvent, timeZone?: string): string | undefined {
  const after = (e.after ?? {}) as HistoryAfter;
  const t = (key: MessageKey, params = {}) => translate(locale, key, params);
  const error = shorten(after.error ?? "");
  const text = (() => {
    switch (e.action) {
      case "release.create":
        return t("history.create", { who: e.actor });
      case "release.status":
        return t("history.status", {
          status: after.status ? statusLabel(locale, after.status) : "",
          who: e.actor,
        });
      case "release.approve":
        return t("history.approve", { role: roleLabel(locale, after.role ?? ""), who: e.actor });
      case "release.reject":
        return t("history.reject", {
          role: roleLabel(locale, after.role ?? ""),
          who: e.actor,
          reason: shorten(after.reason ?? ""),
        });
      case "deploy.request":
        return t("history.deploy_request", { who: e.actor });
      case "rollback.request":
        return t("history.rollback_request", { to: after.to_tag, who: e.actor });
      case "run.interrupted":
        return t("history.run_interrupted", { run: after.run_id, kind: after.kind, env: after.environment });
      default: {
        // A deploy request's outcome: deploy.done, rollback.dispatched, rollback.failed, …
        const m = /^(deploy|rollback)\.(done|dispatched|pending|failed|unknown)$/.exec(e.action);
        if (!m) return undefined;
        const key = `history.${m[1]}_${m[2]}`;
        return hasMessage(key) ? t(key, { to: after.to_tag, error }) : undefined;
      }
    }
  })();
  if (!text) return undefined;
  const link = after.run_url ? ` — ${t("history.run_link", { url: after.run_url })}` : "";
  return `${formatWhen(e.at, timeZone)} ${text}${link}`;
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
