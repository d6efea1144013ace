import { type Locale, readRunState, summarizeApprovals } from "@relctl/core";
import type { Api } from "grammy";
import type { AppDeps } from "../app-deps.js";
import { cardVersion, renderCard } from "./render-card.js";
import { type AlertPayload, type IncidentProgress, renderAlert } from "./render-notice.js";
import { isMessageGone, isNotModified, isUndeletable } from "./telegram-errors.js";

/**
 * Shows a release's card in a chat: edits the card the chat already has (edited in place, never
 * re-sent), or sends one and remembers it. The card is always rendered from the database as it is
 * now, so repeating a publish is harmless. A card Telegram no longer lets the bot edit (deleted,
 * or too old to edit) is sent again, whole, and the new message is the chat's card from then on.
 */
export class CardPublisher {
  constructor(
    private readonly deps: AppDeps,
    private readonly api: Api,
  ) {}

  async localeOf(chatId: number): Promise<Locale> {
    const chat = await this.deps.outbox.readChat(chatId);
    if (chat?.locale) return chat.locale;
    if (chatId > 0) return (await this.deps.members.findByTelegramId(chatId))?.locale ?? "en";
    return "en";
  }

  async publish(chatId: number, releaseId: number, options: { forceNew?: boolean } = {}): Promise<void> {
    const { store, callbacks, releaseCards } = this.deps;
    const locale = await this.localeOf(chatId);
    const release = await store.requireRelease(releaseId);
    const policy = await this.deps.policyFor(release.service);
    const approvals = await store.listApprovals(releaseId);
    const history = await store.listAudit({ releaseId, limit: 200 });
    const live =
      release.status === "deployed" &&
      (await this.deps
        .deployerFor(release.service)
        .liveReleaseId(release.service, await this.deps.environmentFor(release.service))) === release.id;
    const run = await readRunState(this.deps.runs, release);
    const open = await this.deps.deploys.openRollbackOf(
      release.service,
      await this.deps.environmentFor(release.service),
    );
    const rendered = renderCard({
      live,
      ...(open && open.releaseId === release.id
        ? { openRollback: { toTag: open.toTag, requestedBy: open.requestedBy, at: open.createdAt } }
        : {}),
      ...(run ? { run } : {}),
      release,
      approvals,
      progress: summarizeApprovals(policy, approvals).roles,
      history,
      locale,
      ...(this.deps.timeZone ? { timeZone: this.deps.timeZone } : {}),
    });
    const markup = await callbacks.issue(chatId, rendered, cardVersion(release));
    const other = { link_preview_options: { is_disabled: true } };
    const cardId = await releaseCards.messageId(chatId, releaseId);
    if (cardId !== undefined && !options.forceNew) {
      try {
        await this.api.editMessageText(chatId, cardId, rendered.text, {
          ...other,
          reply_markup: markup ?? { inline_keyboard: [] },
        });
        return;
      } catch (err) {
        if (isNotModified(err)) return;
        if (!isMessageGone(err)) throw err;
      }
    }
    // A card arrives silently: what someone must act on rings as a reply to it (the outbox's).
    const sent = await this.api.sendMessage(chatId, rendered.text, {
      ...other,
      disable_notification: true,
      ...(markup ? { reply_markup: markup } : {}),
    });
    await releaseCards.remember(chatId, releaseId, sent.message_id);
  }

  /**
   * Re-renders the chat's unresolved incidents about a release: a rollback under way replaces
   * their button with who asked for it; a finished one says where production went.
   */
  async refreshIncidents(releaseId: number, chatId?: number): Promise<void> {
    const incidents = await this.deps.incidents.openIncidentsOf(releaseId, chatId);
    if (incidents.length === 0) return;
    const release = await this.deps.store.requireRelease(releaseId);
    const open = await this.deps.deploys.openRollbackOf(
      release.service,
      await this.deps.environmentFor(release.service),
    );
    const progress: IncidentProgress =
      open && open.releaseId === release.id
        ? { rollback: { toTag: open.toTag, requestedBy: open.requestedBy, at: open.createdAt } }
        : ["production_rollback", "rollback_done", "rollback_failed"].includes(release.status)
          ? { rolledBackTo: release.status === "rollback_done" ? release.rollbackToTag : null }
          : {};
    for (const incident of incidents) {
      const locale = await this.localeOf(incident.chatId);
      const message = renderAlert(locale, incident.payload as AlertPayload, progress);
      const markup = await this.deps.callbacks.issue(incident.chatId, message, cardVersion(release));
      try {
        await this.api.editMessageText(incident.chatId, incident.messageId, message.text, {
          link_preview_options: { is_disabled: true },
          reply_markup: markup ?? { inline_keyboard: [] },
        });
      } catch (err) {
        if (!isNotModified(err) && !isMessageGone(err)) throw err;
      }
    }
  }

  /**
   * Deletes a message; false when Telegram will not (gone already, over 48 hours old, no right to
   * delete it: 400, or the bot is out of the chat: 403). A 429, a 5xx or no answer throws.
   */
  async deleteMessage(chatId: number, messageId: number): Promise<boolean> {
    try {
      await this.api.deleteMessage(chatId, messageId);
      return true;
    } catch (err) {
      if (isUndeletable(err)) return false;
      throw err;
    }
  }

  /**
   * The card moved on: the reject prompts about the release that can no longer be answered
   * (answered with a refusal, abandoned, or asked on the card's earlier state) are deleted.
   */
  async removePrompts(chatId: number, releaseId: number): Promise<void> {
    const release = await this.deps.store.requireRelease(releaseId);
    for (const prompt of await this.deps.prompts.leftovers(chatId, releaseId, cardVersion(release))) {
      await this.deleteMessage(chatId, prompt.messageId);
      await this.deps.prompts.forget(chatId, prompt.telegramId, prompt.messageId);
    }
  }

  /** The card's message in a chat, if it has one there (what rings replies to it). */
  cardMessageId(chatId: number, releaseId: number): Promise<number | undefined> {
    return this.deps.releaseCards.messageId(chatId, releaseId);
  }

  async hasCard(chatId: number, releaseId: number): Promise<boolean> {
    return (await this.deps.releaseCards.messageId(chatId, releaseId)) !== undefined;
  }

  /** Whether `messageId` is the card this chat shows for the release now. */
  async isLiveCard(chatId: number, releaseId: number, messageId: number | undefined): Promise<boolean> {
    const cardId = await this.deps.releaseCards.messageId(chatId, releaseId);
    return cardId !== undefined && cardId === messageId;
  }
}
