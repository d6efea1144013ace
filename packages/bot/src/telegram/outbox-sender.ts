import { DEFAULT_RETRY_POLICY, type OutboxItem, planRetry } from "@relctl/core";
import type { Api } from "grammy";
import type { AppDeps } from "../app-deps.js";
import { translate } from "../i18n.js";
import type { CardPublisher } from "./card-publisher.js";
import { cardVersion } from "./render-card.js";
import {
  type AlertPayload,
  type AuditChange,
  renderAlert,
  renderReleaseNotice,
  renderRequestNotice,
} from "./render-notice.js";
import {
  classifyTelegramError,
  describeTelegramError,
  isMessageGone,
  isNotModified,
  isUndeletable,
} from "./telegram-errors.js";

/**
 * The release's card carries its whole story: every change edits it in place. A message of its own,
 * a reply to the card that rings, is sent only when someone must act or must know at once: a
 * release waiting for its manual test, a failure, a deploy or rollback that may or may not have
 * started, a run that stopped halfway. A reply lasts while it is news: when the card moves on (the
 * release's next status or deploy-request outcome), it is deleted, so once a release is done its
 * card is its one message in the chat. A failure the release ends in keeps its reply, since no
 * later change comes to take it away while nobody has acted.
 */
const LOUD_STATUSES = new Set([
  "manual_testing",
  "manual_test_failed",
  "production_failed",
  "rollback_failed",
  "stage_building_failed",
  "stage_test_rollback_failed",
]);
/** Deploy-request outcomes (`<kind>_<state>`) and run notices that ring (the others edit the card). */
const LOUD_NOTICES = new Set([
  "deploy_failed",
  "deploy_unknown",
  "rollback_failed",
  "rollback_unknown",
  "run_interrupted",
]);

export interface OutboxSenderOptions {
  readonly intervalMs: number;
  /** Chats served at once (one message per chat at a time keeps each chat in order). */
  readonly batch?: number;
  readonly leaseMs?: number;
  readonly retryBaseMs?: number;
}

/**
 * Delivers the outbox to Telegram. Each chat's oldest undelivered row is claimed alone, so a chat's
 * messages go out in order; a 429 pauses sending for exactly retry_after; 5xx and network errors
 * back off exponentially; a delivered row is marked once (fenced by its claim), so no event is
 * posted twice by two senders.
 */
export function createOutboxSender(
  deps: AppDeps,
  api: Api,
  cards: CardPublisher,
  options: OutboxSenderOptions,
) {
  let pausedUntil = 0;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = true;

  /**
   * What rings is a reply to the release's card, so the card and its replies stay one thread. It is
   * remembered with the card, to be deleted when the card moves on.
   */
  async function sendReply(chatId: number, releaseId: number, text: string): Promise<void> {
    const card = await cards.cardMessageId(chatId, releaseId);
    const sent = await api.sendMessage(chatId, text, {
      ...(card !== undefined
        ? { reply_parameters: { message_id: card, allow_sending_without_reply: true } }
        : {}),
    });
    await deps.releaseCards.rememberReply(chatId, releaseId, sent.message_id);
  }

  /**
   * The card moved on: its earlier ringing reply has been said, and goes. One Telegram no longer
   * lets the bot delete (over 48 hours old, deleted by someone, no right to) is forgotten; a 429,
   * a 5xx or no answer is retried with the row.
   */
  async function removeReply(chatId: number, releaseId: number): Promise<void> {
    const reply = await deps.releaseCards.replyId(chatId, releaseId);
    if (reply === undefined) return;
    try {
      await api.deleteMessage(chatId, reply);
    } catch (err) {
      if (!isUndeletable(err)) throw err;
    }
    await deps.releaseCards.forgetReply(chatId, releaseId, reply);
  }

  /**
   * Edits the release's card, or sends it when the chat has none yet (or Telegram no longer lets
   * it be edited). A later row of the same release for the same chat will edit the card anyway:
   * this edit is skipped then (never the first send).
   */
  async function updateCard(item: OutboxItem): Promise<void> {
    const superseded =
      (await cards.hasCard(item.chatId, item.releaseId!)) && (await deps.outbox.hasLaterCardUpdate(item));
    if (!superseded) await cards.publish(item.chatId, item.releaseId!);
  }

  async function deliver(item: OutboxItem): Promise<void> {
    const locale = await cards.localeOf(item.chatId);
    if (item.kind === "release_event") {
      await updateCard(item);
      // A reject prompt the card's new state leaves unanswerable goes with it.
      await cards.removePrompts(item.chatId, item.releaseId!);
      const [event] =
        item.auditId === null
          ? []
          : await deps.sql`SELECT action, after FROM audit_events WHERE id = ${item.auditId}`;
      // A new status moves the card on (an approval does not: the test is still to be finished).
      if (event?.action === "release.status") await removeReply(item.chatId, item.releaseId!);
      const chat = await deps.outbox.readChat(item.chatId);
      if (!chat?.receivesReleases || !event) return;
      const release = await deps.store.requireRelease(item.releaseId!);
      const status = (event.after as { status?: string } | null)?.status;
      if (status && ["production_rollback", "rollback_done", "rollback_failed"].includes(status))
        await cards.refreshIncidents(release.id);
      if (status === "rollback_done") {
        // The release production runs again offers its rollback on its card now.
        const live = await deps
          .deployerFor(release.service)
          .liveReleaseId(release.service, await deps.environmentFor(release.service));
        if (live !== undefined && live !== release.id && (await cards.hasCard(item.chatId, live)))
          await cards.publish(item.chatId, live);
      }
      if (event.action !== "release.status" || !status || !LOUD_STATUSES.has(status)) return;
      const text = renderReleaseNotice(
        locale,
        event as AuditChange,
        release,
        await deps.store.listApprovals(release.id),
      );
      if (text) await sendReply(item.chatId, release.id, text);
      return;
    }
    if (item.kind === "notice") {
      // A deploy request's outcome or an interrupted run: part of the card's story.
      await updateCard(item);
      await removeReply(item.chatId, item.releaseId!);
      await cards.removePrompts(item.chatId, item.releaseId!);
      // Incidents live in the alert chats, which hear no release events: refreshed from here.
      if (item.payload.refresh_card) await cards.refreshIncidents(item.releaseId!);
      const notice = String(item.payload.notice ?? "");
      if (!LOUD_NOTICES.has(notice)) return;
      const release = await deps.store.requireRelease(item.releaseId!);
      const text = renderRequestNotice(locale, item.payload, release);
      if (text) await sendReply(item.chatId, release.id, text);
      return;
    }
    const payload = item.payload as AlertPayload;
    const message = renderAlert(locale, payload);
    const incident =
      payload.fingerprint && payload.starts_at
        ? { fingerprint: payload.fingerprint, startsAt: payload.starts_at }
        : undefined;
    if (payload.status === "resolved" && incident) {
      // A resolved alert edits its incident (resolved, its button gone) and replies to it.
      const messageId = await deps.incidents.messageId(item.chatId, incident.fingerprint, incident.startsAt);
      if (messageId !== undefined) {
        try {
          await api.editMessageText(item.chatId, messageId, message.text, {
            link_preview_options: { is_disabled: true },
            reply_markup: { inline_keyboard: [] },
          });
        } catch (err) {
          if (!isNotModified(err) && !isMessageGone(err)) throw err;
        }
        await deps.incidents.markResolved(item.chatId, incident.fingerprint, incident.startsAt);
        await api.sendMessage(
          item.chatId,
          translate(locale, "alert.resolved_reply", { name: payload.name }),
          {
            reply_parameters: { message_id: messageId, allow_sending_without_reply: true },
          },
        );
        return;
      }
    }
    let version: string | null = null;
    if (payload.release_id) {
      const release = await deps.store.getRelease(payload.release_id);
      version = release ? cardVersion(release) : null;
    }
    const markup = await deps.callbacks.issue(item.chatId, message, version);
    const sent = await api.sendMessage(item.chatId, message.text, {
      link_preview_options: { is_disabled: true },
      ...(markup ? { reply_markup: markup } : {}),
    });
    if (payload.status !== "resolved" && incident)
      await deps.incidents.remember(item.chatId, incident.fingerprint, incident.startsAt, sent.message_id);
  }

  async function handle(item: OutboxItem): Promise<void> {
    try {
      await deliver(item);
      await deps.outbox.markSent(item);
      deps.metrics.inc("relctl_telegram_deliveries_total", "Outbox rows delivered to Telegram.", {
        result: "sent",
      });
    } catch (err) {
      const failure = classifyTelegramError(err);
      const error = describeTelegramError(err);
      if (failure.kind === "rate_limited") {
        pausedUntil = Math.max(pausedUntil, Date.now() + failure.retryAfterSeconds * 1000);
      }
      const plan = planRetry(failure, item.attempts, new Date(), {
        ...DEFAULT_RETRY_POLICY,
        baseDelayMs: options.retryBaseMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
      });
      deps.metrics.inc("relctl_telegram_deliveries_total", "Outbox rows delivered to Telegram.", {
        result: plan.action === "retry" ? failure.kind : "failed",
      });
      if (plan.action === "retry") await deps.outbox.reschedule(item, plan.at, error);
      else {
        deps.logger.error("telegram delivery failed for good", { outbox: item.id, chat: item.chatId, error });
        await deps.outbox.markFailed(item, error);
      }
    }
  }

  async function runOnce(): Promise<number> {
    if (Date.now() < pausedUntil) return 0;
    const items = await deps.outbox.claim(options.batch ?? 8, options.leaseMs ?? 60_000);
    await Promise.all(items.map(handle));
    return items.length;
  }

  const tick = () => {
    if (stopped) return;
    running = runOnce()
      .catch((err) => deps.logger.error("outbox sender", { err }))
      .then((n) => {
        if (!stopped) timer = setTimeout(tick, n ? 0 : options.intervalMs);
      });
  };

  return {
    runOnce,
    start() {
      if (!stopped) return;
      stopped = false;
      tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
