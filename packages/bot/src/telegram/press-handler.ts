import {
  type Actor,
  authorizeMember,
  decideRelease,
  isRelctlError,
  type Locale,
  type Member,
  type MemberAction,
  type Release,
  requestMemberRollback,
  rollbackUnderWay,
  StateError,
  summarizeApprovals,
  toRelctlError,
  UsageError,
} from "@relctl/core";
import type { Api } from "grammy";
import type { AppDeps } from "../app-deps.js";
import { rollbackPorts } from "../deploy/rollback-ports.js";
import { localeFrom, type MessageKey, translate } from "../i18n.js";
import type { CallbackAction } from "../store/callback-action-store.js";
import type { CardPublisher } from "./card-publisher.js";
import { menuCounts, menuList } from "./features/menu.js";
import {
  cardVersion,
  type MenuGroup,
  type RenderedMessage,
  renderMenu,
  renderReleaseList,
  roleLabel,
} from "./render-card.js";
import { isMessageGone, isNotModified } from "./telegram-errors.js";

export interface Press {
  readonly chatId: number;
  readonly messageId: number | undefined;
  readonly fromId: number;
  readonly languageCode?: string | undefined;
  readonly data: string | undefined;
  readonly traceId: string;
}

export interface PressAnswer {
  readonly text: string;
  /** Refusals show as an alert on the button. */
  readonly alert: boolean;
}

export interface ReasonMessage {
  readonly chatId: number;
  readonly fromId: number;
  readonly languageCode?: string | undefined;
  readonly text: string;
  /** The person's message (deleted once the rejection is recorded, where the bot may). */
  readonly messageId: number;
  readonly replyToMessageId: number | undefined;
  readonly traceId: string;
}

/**
 * The text of each refusal a press or a reply can meet, by its error code (missing_role is
 * refuse.approve_role or refuse.rollback_role, by the button). Any other code is refuse.generic,
 * which Russian words by the error's kind, never with core's English message.
 */
export const REFUSAL_KEYS: Readonly<Record<string, MessageKey>> = {
  forged_button: "refuse.forged",
  stale_card: "refuse.stale",
  other_chat: "refuse.other_chat",
  not_a_member: "refuse.not_a_member",
  rollback_in_progress: "refuse.rollback_in_progress",
  service_not_covered: "refuse.service_not_covered",
  environment_not_covered: "refuse.environment_not_covered",
  not_live: "refuse.not_live",
  not_restorable: "refuse.not_restorable",
  not_your_turn: "refuse.not_your_turn",
  self_approval: "refuse.self_approval",
  already_approved: "refuse.already_approved",
  role_complete: "refuse.role_complete",
  out_of_order: "refuse.out_of_order",
  not_awaiting_approval: "refuse.not_awaiting_approval",
  reason_required: "refuse.reason_required",
  reason_too_long: "refuse.reason_too_long",
  reason_control_character: "refuse.reason_control_character",
  unknown_role: "refuse.unknown_role",
  illegal_transition: "refuse.illegal_transition",
  release_not_found: "refuse.release_not_found",
};

const ROLLBACK_BUTTONS = new Set(["rollback", "pick", "confirm"]);

/** Buttons only the card a chat shows now may carry (a pick or confirm on the card says so: params.card). */
const CARD_BUTTONS = new Set(["approve", "reject", "rollback"]);

/**
 * Every press is decided against the database as it is at the moment of the press: the button's
 * id must exist and belong to this chat, the card must still show the release's current state
 * (and be the chat's live card), and the member must hold the role now. Refusals are answered on
 * the button and audited; they change nothing else.
 */
export class PressHandler {
  constructor(
    private readonly deps: AppDeps,
    private readonly api: Api,
    private readonly cards: CardPublisher,
  ) {}

  async handle(press: Press): Promise<PressAnswer> {
    const member = await this.deps.members.findByTelegramId(press.fromId);
    const locale = member?.locale ?? localeFrom(press.languageCode);
    const action = await this.deps.callbacks.find(press.data);
    try {
      if (!action) throw new UsageError("forged_button", "the button is not known");
      if (action.chatId !== press.chatId)
        throw new UsageError("other_chat", "the button belongs to another chat");
      return await this.dispatch(press, action, member, locale);
    } catch (err) {
      if (!isRelctlError(err)) throw err;
      return this.refuse(press, member, locale, action, err);
    }
  }

  private async dispatch(
    press: Press,
    action: CallbackAction,
    member: Member | undefined,
    locale: Locale,
  ): Promise<PressAnswer> {
    const t = (key: MessageKey, params = {}) => translate(locale, key, params);
    if (action.action === "menu") {
      await this.authorize(member, "view", undefined);
      const group = action.params.group as MenuGroup | "root";
      // The menu and its lists are one message, edited in place (Back returns to the menu).
      const message =
        group === "root"
          ? renderMenu(locale, await menuCounts(this.deps, member!))
          : await menuList(this.deps, member!, group).then(({ releases, total }) =>
              renderReleaseList(locale, group, releases, total),
            );
      if (press.messageId) await this.edit(press.chatId, press.messageId, message);
      else await this.send(press.chatId, message, null);
      return { text: "", alert: false };
    }
    if (action.action === "cancel") {
      if (press.messageId)
        await this.edit(press.chatId, press.messageId, { text: t("rollback.cancelled"), buttons: [] });
      return { text: "", alert: false };
    }
    const release = await this.deps.store.requireRelease(action.releaseId!);
    if (action.action === "open") {
      await this.authorize(member, "view", release);
      await this.cards.publish(press.chatId, release.id, { forceNew: true });
      return { text: "", alert: false };
    }
    if (action.action === "back") {
      // Leaves the rollback menu on the card: the card as it is now, with its own buttons.
      await this.authorize(member, "view", release);
      await this.cards.publish(press.chatId, release.id);
      return { text: "", alert: false };
    }
    await this.assertFresh(press, action, release);
    switch (action.action) {
      case "approve":
        return this.approve(press, action, member, release, locale);
      case "reject":
        return this.askReason(press, member, release, locale);
      case "rollback":
        return this.offerVersions(press, member, release, locale);
      case "pick":
        return this.confirmRollback(press, action, member, release, locale);
      case "confirm":
        return this.requestRollback(press, action, member, release, locale);
      default:
        throw new UsageError("forged_button", "the button is not known");
    }
  }

  private async approve(
    press: Press,
    action: CallbackAction,
    member: Member | undefined,
    release: Release,
    locale: Locale,
  ): Promise<PressAnswer> {
    if (!member) await this.authorize(member, "approve", release);
    const result = await decideRelease(this.deps.decide, {
      releaseId: release.id,
      decision: "approve",
      member: member!,
      actor: this.actor(member!, press.traceId),
      beforeDecide: (current) => {
        if (cardVersion(current) !== action.cardVersion) throw staleCard();
      },
    });
    const remaining = summarizeApprovals(result.policy, await this.deps.store.listApprovals(release.id))
      .roles.map((p) => Math.max(0, p.needed - p.approvedBy.length))
      .reduce((a, b) => a + b, 0);
    return {
      text: translate(locale, "done.approved", {
        role: roleLabel(locale, result.approval.role),
        remaining: result.completed ? 0 : remaining,
      }),
      alert: false,
    };
  }

  private async askReason(
    press: Press,
    member: Member | undefined,
    release: Release,
    locale: Locale,
  ): Promise<PressAnswer> {
    const policy = await this.deps.policyFor(release.service);
    authorizeMember(member, {
      action: "reject",
      service: release.service,
      environment: await this.deps.environmentFor(release.service),
      policy,
      progress: summarizeApprovals(policy, await this.deps.store.listApprovals(release.id)).roles,
    });
    // The prompt names the person who pressed Reject as a mention of them (a text_mention needs no
    // username): a selective ForceReply opens the reply box for the users the text mentions only.
    const marker = "\u0000who\u0000";
    const template = translate(locale, "reject.prompt", {
      service: release.service,
      tag: release.tag,
      who: marker,
    });
    const who = member!.name;
    const offset = template.indexOf(marker);
    const prompt = await this.api.sendMessage(press.chatId, template.replace(marker, who), {
      ...(offset >= 0
        ? { entities: [{ type: "text_mention", offset, length: who.length, user: mentioned(press, who) }] }
        : {}),
      reply_markup: { force_reply: true, selective: true, input_field_placeholder: "…" },
    });
    const earlier = await this.deps.prompts.save({
      chatId: press.chatId,
      telegramId: press.fromId,
      releaseId: release.id,
      // The state the card showed when Reject was pressed (assertFresh checked it is current).
      cardVersion: cardVersion(release),
      promptMessageId: prompt.message_id,
    });
    // The member's earlier question in this chat (pressed Reject again, or on another card) is over.
    if (earlier !== undefined) await this.deleteQuietly(press.chatId, earlier);
    return { text: "", alert: false };
  }

  /**
   * A text message that answers a reject prompt: the rejection, checked again now. Recorded, it
   * leaves nothing behind: the card shows it (and a reply to the card rings), the prompt is deleted,
   * and so is the person's message where the bot may delete it (always in a private chat; in a
   * group with the right to delete messages), since the reason is kept in the card's history and
   * the audit. Refused, the prompt is edited to say why, addressed to the person, and is deleted
   * when the card moves on. Returns nothing: the bot sends no message of its own here.
   */
  async handleReason(msg: ReasonMessage): Promise<void> {
    const prompt = await this.deps.prompts.find(msg.chatId, msg.fromId);
    if (!prompt) return;
    if (msg.chatId < 0 && prompt.promptMessageId !== msg.replyToMessageId) return;
    // The question closes now, once: a second text racing this one is an ordinary message.
    if (!(await this.deps.prompts.answer(msg.chatId, msg.fromId))) return;
    const member = await this.deps.members.findByTelegramId(msg.fromId);
    const locale = member?.locale ?? localeFrom(msg.languageCode);
    const press: Press = { ...msg, messageId: undefined, data: undefined };
    const { releaseId, promptMessageId } = prompt;
    try {
      const reason = msg.text.trim();
      if (!reason) throw new UsageError("reason_required", translate(locale, "reject.empty"));
      const release = await this.deps.store.requireRelease(releaseId);
      if (cardVersion(release) !== prompt.cardVersion) throw staleCard();
      if (!member) await this.authorize(member, "reject", release);
      await decideRelease(this.deps.decide, {
        releaseId: release.id,
        decision: "reject",
        reason,
        member: member!,
        actor: this.actor(member!, msg.traceId),
        beforeDecide: (current) => {
          if (cardVersion(current) !== prompt.cardVersion) throw staleCard();
        },
      });
    } catch (err) {
      if (!isRelctlError(err)) throw err;
      const pseudo = { releaseId, action: "reject" } as CallbackAction;
      const refusal = (await this.refuse(press, member, locale, pseudo, err)).text;
      const release = await this.deps.store.getRelease(releaseId);
      const text = translate(locale, "reject.refused", {
        who: member?.name ?? `tg:${msg.fromId}`,
        service: release?.service ?? "",
        tag: release?.tag ?? "",
        message: refusal,
      });
      // The prompt says why, in place; the card's next move deletes it (an answered prompt).
      if (promptMessageId !== null) {
        try {
          await this.api.editMessageText(msg.chatId, promptMessageId, text);
          return;
        } catch (editErr) {
          if (isNotModified(editErr)) return;
          if (!isMessageGone(editErr)) throw editErr;
        }
      }
      // No prompt left to edit: the answer is a reply of its own, deleted with the card's next move.
      const sent = await this.api.sendMessage(msg.chatId, text, {
        reply_parameters: { message_id: msg.messageId, allow_sending_without_reply: true },
      });
      await this.deps.prompts.save({
        chatId: msg.chatId,
        telegramId: msg.fromId,
        releaseId,
        cardVersion: prompt.cardVersion,
        promptMessageId: sent.message_id,
      });
      await this.deps.prompts.answer(msg.chatId, msg.fromId);
      return;
    }
    // Recorded: the card's edit is the answer. The prompt and the reason's message go.
    if (promptMessageId !== null && (await this.deleteQuietly(msg.chatId, promptMessageId)))
      await this.deps.prompts.forget(msg.chatId, msg.fromId, promptMessageId);
    await this.deleteQuietly(msg.chatId, msg.messageId);
  }

  /**
   * Deletes a message if Telegram lets the bot: a refusal (400, 403: no right to delete, gone
   * already) is fine and true; a failure that persists through grammY's retries is logged, never
   * shown to anyone, and false (a prompt is then deleted when the card moves on).
   */
  private async deleteQuietly(chatId: number, messageId: number): Promise<boolean> {
    try {
      await this.cards.deleteMessage(chatId, messageId);
      return true;
    } catch (err) {
      this.deps.logger.warn("telegram delete failed", { chat: chatId, message: messageId, err });
      return false;
    }
  }

  private async offerVersions(
    press: Press,
    member: Member | undefined,
    release: Release,
    locale: Locale,
  ): Promise<PressAnswer> {
    await this.authorize(member, "rollback", release);
    await this.assertLive(release);
    await this.assertNoOpenRollback(release);
    const versions = await this.deps
      .deployerFor(release.service)
      .restorableVersions(release.service, await this.deps.environmentFor(release.service));
    if (versions.length === 0) {
      return { text: translate(locale, "rollback.none", { service: release.service }), alert: true };
    }
    // The card's own keyboard becomes the menu of versions (Back restores the card's buttons): the
    // chat gets no message of its own. The question is the press's answer.
    await this.editKeyboard(
      press.chatId,
      press.messageId!,
      [
        ...versions.slice(0, 8).map((v) => [
          {
            label: v.tag,
            action: "pick" as const,
            releaseId: release.id,
            params: { to_tag: v.tag, card: true },
          },
        ]),
        [this.backToCard(locale, release)],
      ],
      cardVersion(release),
    );
    return {
      text: translate(locale, "rollback.pick", { service: release.service, from: release.tag }),
      alert: false,
    };
  }

  private backToCard(locale: Locale, release: Release) {
    return { label: translate(locale, "button.back"), action: "back" as const, releaseId: release.id };
  }

  private async confirmRollback(
    press: Press,
    action: CallbackAction,
    member: Member | undefined,
    release: Release,
    locale: Locale,
  ): Promise<PressAnswer> {
    await this.authorize(member, "rollback", release);
    await this.assertNoOpenRollback(release);
    const toTag = await this.assertRestorable(release, action.params.to_tag);
    const question = translate(locale, "rollback.confirm", {
      service: release.service,
      from: release.tag,
      to: toTag,
    });
    if (action.params.card && press.messageId) {
      // On the card: its keyboard asks, and Back returns to the card's own buttons.
      await this.editKeyboard(
        press.chatId,
        press.messageId,
        [
          [
            {
              label: translate(locale, "button.confirm_rollback_to", { tag: toTag }),
              action: "confirm",
              releaseId: release.id,
              params: { to_tag: toTag, card: true },
            },
          ],
          [this.backToCard(locale, release)],
        ],
        cardVersion(release),
      );
      return { text: question, alert: false };
    }
    // From an incident in an alert chat: the question is a message of its own there.
    const message: RenderedMessage = {
      text: question,
      buttons: [
        [
          {
            label: translate(locale, "button.confirm_rollback"),
            action: "confirm",
            releaseId: release.id,
            params: { to_tag: toTag },
          },
          { label: translate(locale, "button.cancel"), action: "cancel" },
        ],
      ],
    };
    // A picker sent as a message of its own (before pickers lived on the card) is edited in place.
    if (action.params.picker && press.messageId)
      await this.edit(press.chatId, press.messageId, message, cardVersion(release));
    else await this.send(press.chatId, message, cardVersion(release));
    return { text: "", alert: false };
  }

  private async requestRollback(
    press: Press,
    action: CallbackAction,
    member: Member | undefined,
    release: Release,
    locale: Locale,
  ): Promise<PressAnswer> {
    // core's requestMemberRollback, as the API's POST /rollback: the member's role, the release
    // live, no rollback open, the tag restorable. One open rollback per service and environment:
    // the insert is the check (a unique index), so of any number of concurrent confirmations
    // exactly one writes a request.
    const environment = await this.deps.environmentFor(release.service);
    const request = await requestMemberRollback(rollbackPorts(this.deps, release.service), {
      member,
      service: release.service,
      environment,
      toTag: String(action.params.to_tag),
      actor: this.actor(member!, press.traceId),
      releaseId: release.id,
      releaseLabel: `${release.service} ${release.tag}`,
    });
    const toTag = request.toTag!;
    const text = translate(locale, "rollback.requested", {
      service: release.service,
      from: release.tag,
      to: toTag,
      who: member!.name,
    });
    // Confirmed on the card, the card itself shows the rollback under way (published next).
    if (press.messageId && !action.params.card)
      await this.edit(press.chatId, press.messageId, { text, buttons: [] });
    await this.cards.publish(press.chatId, release.id).catch(() => {});
    await this.cards.refreshIncidents(release.id).catch(() => {});
    return { text, alert: false };
  }

  /** While a rollback of the service is open, every press toward another is answered with it. */
  private async assertNoOpenRollback(release: Release): Promise<void> {
    const environment = await this.deps.environmentFor(release.service);
    const open = await this.deps.deploys.openRollbackOf(release.service, environment);
    if (open) throw rollbackUnderWay(open);
  }

  private async authorize(
    member: Member | undefined,
    action: MemberAction,
    release: Release | undefined,
  ): Promise<string> {
    const service = release?.service ?? member?.services[0] ?? "*";
    return authorizeMember(member, {
      action,
      service,
      environment: release ? await this.deps.environmentFor(service) : (member?.environments[0] ?? "*"),
      policy: { roles: [], order: "any", allowSelfApproval: false },
    });
  }

  private async assertFresh(press: Press, action: CallbackAction, release: Release): Promise<void> {
    const onCard = CARD_BUTTONS.has(action.action) || action.params.card === true;
    const live = !onCard || (await this.cards.isLiveCard(press.chatId, release.id, press.messageId));
    if (!live || action.cardVersion !== cardVersion(release)) throw staleCard();
  }

  /** A rollback starts only from the card of the release its environment runs now. */
  private async assertLive(release: Release): Promise<void> {
    const environment = await this.deps.environmentFor(release.service);
    const live = await this.deps.deployerFor(release.service).liveReleaseId(release.service, environment);
    if (live !== release.id) {
      throw new StateError(
        "not_live",
        `${release.service} ${release.tag} no longer runs in ${environment}; roll back from the card of the release that runs now`,
      );
    }
  }

  private async assertRestorable(release: Release, value: unknown): Promise<string> {
    await this.assertLive(release);
    const versions = await this.deps
      .deployerFor(release.service)
      .restorableVersions(release.service, await this.deps.environmentFor(release.service));
    const found = versions.find((v) => v.tag === value);
    if (!found) {
      throw new StateError(
        "not_restorable",
        `${String(value)} is no longer a version ${release.service} can roll back to`,
      );
    }
    return found.tag;
  }

  private actor(member: Member, traceId: string): Actor {
    return { user: member.name, channel: "telegram", traceId };
  }

  private async refuse(
    press: Press,
    member: Member | undefined,
    locale: Locale,
    action: CallbackAction | undefined,
    err: unknown,
  ): Promise<PressAnswer> {
    const error = toRelctlError(err);
    const releaseId = action?.releaseId ?? null;
    await this.deps.store.appendAudit(
      this.deps.sql,
      { user: member?.name ?? `tg:${press.fromId}`, channel: "telegram", traceId: press.traceId },
      "telegram.refused",
      releaseId !== null && (await this.deps.store.getRelease(releaseId)) ? releaseId : null,
      null,
      { telegram_id: press.fromId, button: action?.action ?? null, code: error.code, message: error.message },
    );
    this.deps.metrics.inc("relctl_telegram_refusals_total", "Button presses refused.", { code: error.code });
    if ((error.code === "stale_card" || error.code === "not_live") && releaseId !== null) {
      await this.cards.publish(press.chatId, releaseId).catch(() => {});
    }
    const key =
      error.code === "missing_role"
        ? ROLLBACK_BUTTONS.has(action?.action ?? "")
          ? "refuse.rollback_role"
          : "refuse.approve_role"
        : REFUSAL_KEYS[error.code];
    const release = releaseId !== null ? await this.deps.store.getRelease(releaseId) : undefined;
    const details = (error.details ?? {}) as {
      to_tag?: string;
      requested_by?: string;
      requested_at?: string;
    };
    const text = key
      ? translate(locale, key, {
          id: press.fromId,
          to: details.to_tag,
          who: details.requested_by,
          at: details.requested_at ? `${details.requested_at.slice(11, 16)} UTC` : "",
          message: error.message,
          service: release?.service,
          tag: release?.tag,
          env: release ? await this.deps.environmentFor(release.service) : "",
          ...(details.to_tag === undefined ? { to: String(action?.params?.to_tag ?? "") } : {}),
        })
      : translate(locale, "refuse.generic", { message: error.message, kind: error.kind });
    return { text: text.slice(0, 200), alert: true };
  }

  private async send(chatId: number, message: RenderedMessage, version: string | null): Promise<void> {
    const markup = await this.deps.callbacks.issue(chatId, message, version);
    await this.api.sendMessage(chatId, message.text, markup ? { reply_markup: markup } : {});
  }

  /** Replaces a message's keyboard only (its text stays as it is). */
  private async editKeyboard(
    chatId: number,
    messageId: number,
    buttons: RenderedMessage["buttons"],
    version: string | null,
  ): Promise<void> {
    const markup = await this.deps.callbacks.issue(chatId, { text: "", buttons }, version);
    try {
      await this.api.editMessageReplyMarkup(chatId, messageId, {
        reply_markup: markup ?? { inline_keyboard: [] },
      });
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  private async edit(
    chatId: number,
    messageId: number,
    message: RenderedMessage,
    version: string | null = null,
  ) {
    const markup = await this.deps.callbacks.issue(chatId, message, version);
    try {
      await this.api.editMessageText(chatId, messageId, message.text, {
        reply_markup: markup ?? { inline_keyboard: [] },
      });
    } catch (err) {
      // The message already says exactly this (a repeated press): nothing to change, not a failure.
      if (!isNotModified(err)) throw err;
    }
  }
}

/** The user a mention names (Telegram goes by the id). */
function mentioned(press: Press, name: string) {
  return { id: press.fromId, is_bot: false, first_name: name };
}

function staleCard(): StateError {
  return new StateError("stale_card", "the card no longer shows the release's current state");
}
