import type { Locale } from "@relctl/core";

type Params = Readonly<Record<string, string | number | null | undefined>>;

const EN = {
  "role.qa": "QA Team",
  "role.devops": "DevOps",
  "role.lead": "Team Lead",
  "role.admin": "Admin",
  "card.status": "Status",
  "card.approvals": "Approvals",
  "card.run": "Run",
  "card.history": "History",
  "card.rejected": "Rejected by {who} ({role}): {reason}",
  "card.rollback_to": "Rolling back to {tag}",
  "history.create": "created by {who}",
  "history.status": "→ {status} ({who})",
  "history.approve": "✅ {role}: {who}",
  "history.reject": "⛔ {role}: {who} — {reason}",
  "button.approve": "✅ Approve",
  "button.reject": "❌ Reject",
  "button.rollback": "↩️ Rollback",
  "button.confirm_rollback": "Yes, roll back",
  "button.cancel": "Cancel",
  "button.rollback_to": "↩️ Roll back to {tag}",
  "menu.title": "relctl — choose a list",
  "menu.active": "Active releases",
  "menu.successful": "Successful releases",
  "menu.failed": "Failed releases",
  "menu.empty": "No releases here.",
  "notice.stage_building": "🚧 {service} {tag} is on stage",
  "notice.manual_testing": "🧪 {service} {tag} is ready for manual testing",
  "notice.manual_test_passed": "🚀 {service} {tag}: every approval is in; the production deploy starts",
  "notice.manual_test_failed": "⛔ {service} {tag} was rejected by {who}: {reason}",
  "notice.deployed": "✅ {service} {tag} is deployed to production",
  "notice.production_failed": "❗ {service} {tag}: the production deploy failed",
  "notice.production_rollback": "↩️ {service} {tag}: production is rolling back",
  "notice.rollback_done": "↩️ {service}: rolled back from {tag}",
  "notice.rollback_failed": "🆘 {service} {tag}: the rollback FAILED — everyone, please look now",
  "notice.stage_building_failed": "❗ {service} {tag}: the stage deploy failed",
  "notice.stage_test_rollback_failed": "❗ {service} {tag}: the rollback rehearsal on stage failed",
  "notice.deploy_done": "🚀 Production deploy of {service} {tag} started",
  "notice.deploy_failed": "⚠️ Production deploy of {service} {tag} could not start: {error}",
  "notice.deploy_unknown":
    "⚠️ Production deploy of {service} {tag} may or may not have started ({error}); check before starting it again",
  "notice.rollback_request_done": "↩️ Rollback of {service} to {to} started",
  "notice.rollback_request_failed": "⚠️ Rollback of {service} to {to} could not start: {error}",
  "notice.rollback_request_unknown":
    "⚠️ Rollback of {service} to {to} may or may not have started ({error}); check before starting it again",
  "notice.run_interrupted":
    "⚠️ {service} {tag}: run {run} ({kind} to {env}) was interrupted, its process stopped without finishing. {next}",
  "card.run_in_progress": "▶️ Run {run} ({kind} to {env}) in progress",
  "card.rollback_open": "↩️ A rollback to {to} is under way, requested by {who} at {at}",
  "notice.rollback_request_dispatched":
    "↩️ Rollback of {service} to {to} started: its workflow was dispatched",
  "card.run_interrupted": "⚠️ Run {run} ({kind} to {env}) interrupted. {next}",
  "alert.firing": "🔥 {name} — {service}",
  "alert.resolved": "✅ resolved: {name} — {service}",
  "alert.production": "Production runs {tag}, deployed {at} by {by}",
  "alert.approved": "Approved by {who}",
  "alert.resolved_reply": "✅ Resolved: {name}",
  "alert.rolled_back": "↩️ Rolled back to {to}",
  "refuse.forged": "This button is not known.",
  "refuse.stale": "This card is out of date; it has been refreshed.",
  "refuse.other_chat": "This button belongs to another chat.",
  "refuse.not_a_member": "You are not a member (your Telegram id is {id}).",
  "refuse.rollback_in_progress": "A rollback to {to} is under way, requested by {who} at {at}.",
  "refuse.generic": "Refused: {message}",
  // English keeps the detailed reason; Russian says it in its own words.
  "refuse.approve_role": "Refused: {message}",
  "refuse.not_your_turn": "Refused: {message}",
  "refuse.self_approval": "Refused: {message}",
  "refuse.already_approved": "Refused: {message}",
  "refuse.role_complete": "Refused: {message}",
  "refuse.out_of_order": "Refused: {message}",
  "refuse.not_awaiting_approval": "Refused: {message}",
  "refuse.reason_required": "Refused: {message}",
  "refuse.reason_too_long": "Refused: {message}",
  "refuse.reason_control_character": "Refused: {message}",
  "refuse.rollback_role": "Refused: rolling back needs one of the roles devops, lead, admin",
  "refuse.service_not_covered": "Refused: you do not cover the service {service}",
  "refuse.environment_not_covered": "Refused: you do not cover the {env} environment",
  "refuse.not_live":
    "Refused: {service} {tag} no longer runs in {env}; roll back from the card of the release that runs now",
  "refuse.not_restorable": "Refused: {to} is no longer a version {service} can roll back to",
  "reject.prompt": "Why do you reject {service} {tag}? Reply to this message with the reason.",
  "reject.empty": "A rejection needs a reason.",
  "rollback.pick": "Roll back {service} from {from} to which version?",
  "rollback.none": "No earlier version of {service} can be restored.",
  "rollback.confirm": "Roll back {service} from {from} to {to}?",
  "rollback.requested":
    "↩️ Rollback of {service} from {from} to {to} requested by {who}. The card follows it.",
  "rollback.cancelled": "Rollback cancelled.",
  "done.approved": "Approved as {role}.",
  "done.rejected": "Rejected.",
  "lang.set": "Language: English",
  "chat.subscribed": "This chat now receives release cards.",
} as const;

export type MessageKey = keyof typeof EN;

/** Every message key (each has its English and Russian text: the RU table is typed by them). */
export const MESSAGE_KEYS = Object.keys(EN) as MessageKey[];

const RU: Record<MessageKey, string> = {
  "role.qa": "QA",
  "role.devops": "DevOps",
  "role.lead": "Тимлид",
  "role.admin": "Админ",
  "card.status": "Статус",
  "card.approvals": "Одобрения",
  "card.run": "Запуск",
  "card.history": "История",
  "card.rejected": "Отклонил {who} ({role}): {reason}",
  "card.rollback_to": "Откат на {tag}",
  "history.create": "создан: {who}",
  "history.status": "→ {status} ({who})",
  "history.approve": "✅ {role}: {who}",
  "history.reject": "⛔ {role}: {who} — {reason}",
  "button.approve": "✅ Одобрить",
  "button.reject": "❌ Отклонить",
  "button.rollback": "↩️ Откатить",
  "button.confirm_rollback": "Да, откатить",
  "button.cancel": "Отмена",
  "button.rollback_to": "↩️ Откатить на {tag}",
  "menu.title": "relctl — выберите список",
  "menu.active": "Активные релизы",
  "menu.successful": "Успешные релизы",
  "menu.failed": "Неудачные релизы",
  "menu.empty": "Здесь релизов нет.",
  "notice.stage_building": "🚧 {service} {tag} на stage",
  "notice.manual_testing": "🧪 {service} {tag} готов к ручному тестированию",
  "notice.manual_test_passed": "🚀 {service} {tag}: все одобрения получены; запускается деплой в production",
  "notice.manual_test_failed": "⛔ {service} {tag} отклонён ({who}): {reason}",
  "notice.deployed": "✅ {service} {tag} в production",
  "notice.production_failed": "❗ {service} {tag}: деплой в production не удался",
  "notice.production_rollback": "↩️ {service} {tag}: production откатывается",
  "notice.rollback_done": "↩️ {service}: откат с {tag} выполнен",
  "notice.rollback_failed": "🆘 {service} {tag}: откат НЕ УДАЛСЯ — всем срочно посмотреть",
  "notice.stage_building_failed": "❗ {service} {tag}: деплой на stage не удался",
  "notice.stage_test_rollback_failed": "❗ {service} {tag}: репетиция отката на stage не удалась",
  "notice.deploy_done": "🚀 Деплой {service} {tag} в production запущен",
  "notice.deploy_failed": "⚠️ Деплой {service} {tag} в production не запустился: {error}",
  "notice.deploy_unknown":
    "⚠️ Деплой {service} {tag} в production мог запуститься, а мог и нет ({error}); проверьте, прежде чем запускать снова",
  "notice.rollback_request_done": "↩️ Откат {service} на {to} запущен",
  "notice.rollback_request_failed": "⚠️ Откат {service} на {to} не запустился: {error}",
  "notice.rollback_request_unknown":
    "⚠️ Откат {service} на {to} мог запуститься, а мог и нет ({error}); проверьте, прежде чем запускать снова",
  "notice.run_interrupted":
    "⚠️ {service} {tag}: запуск {run} ({kind}, {env}) прерван: его процесс остановился, не закончив. {next}",
  "card.run_in_progress": "▶️ Идёт запуск {run} ({kind}, {env})",
  "card.rollback_open": "↩️ Идёт откат на {to}: его запросил {who} в {at}",
  "notice.rollback_request_dispatched": "↩️ Откат {service} на {to} запущен: workflow отправлен",
  "card.run_interrupted": "⚠️ Запуск {run} ({kind}, {env}) прерван. {next}",
  "alert.firing": "🔥 {name} — {service}",
  "alert.resolved": "✅ решено: {name} — {service}",
  "alert.production": "Сейчас в production: {tag}, выкачен {at}, {by}",
  "alert.approved": "Одобрили: {who}",
  "alert.resolved_reply": "✅ Решено: {name}",
  "alert.rolled_back": "↩️ Откачено на {to}",
  "refuse.forged": "Эта кнопка неизвестна.",
  "refuse.stale": "Карточка устарела; она обновлена.",
  "refuse.other_chat": "Эта кнопка из другого чата.",
  "refuse.not_a_member": "Вы не участник (ваш Telegram id: {id}).",
  "refuse.rollback_in_progress": "Откат на {to} уже идёт: его запросил {who} в {at}.",
  "refuse.generic": "Отказано: {message}",
  "refuse.approve_role": "Отказано: этому релизу нужны одобрения ролей, которых у вас нет",
  "refuse.not_your_turn": "Отказано: сейчас от ваших ролей одобрение не ожидается",
  "refuse.self_approval": "Отказано: вы создали этот релиз и не можете его одобрить",
  "refuse.already_approved": "Отказано: вы уже одобрили этот релиз; один человек считается один раз",
  "refuse.role_complete": "Отказано: у этой роли уже есть все нужные одобрения",
  "refuse.out_of_order": "Отказано: сначала должна одобрить предыдущая роль",
  "refuse.not_awaiting_approval": "Отказано: релиз уже не ждёт одобрений",
  "refuse.reason_required": "Отказано: для отклонения нужна причина",
  "refuse.reason_too_long": "Отказано: причина длиннее 1000 символов",
  "refuse.reason_control_character": "Отказано: в причине есть управляющие символы",
  "refuse.rollback_role": "Отказано: откатывать могут только роли devops, lead и admin",
  "refuse.service_not_covered": "Отказано: сервис {service} не в вашей зоне",
  "refuse.environment_not_covered": "Отказано: окружение {env} не в вашей зоне",
  "refuse.not_live":
    "Отказано: {service} {tag} уже не работает в {env}; откатывайте с карточки релиза, который работает сейчас",
  "refuse.not_restorable": "Отказано: откатить {service} на {to} уже нельзя",
  "reject.prompt": "Почему вы отклоняете {service} {tag}? Ответьте на это сообщение.",
  "reject.empty": "Для отклонения нужна причина.",
  "rollback.pick": "На какую версию откатить {service} с {from}?",
  "rollback.none": "Нет более ранней версии {service}, на которую можно откатиться.",
  "rollback.confirm": "Откатить {service} с {from} на {to}?",
  "rollback.requested": "↩️ Откат {service} с {from} на {to} запросил {who}. Карточка покажет ход.",
  "rollback.cancelled": "Откат отменён.",
  "done.approved": "Одобрено как {role}.",
  "done.rejected": "Отклонено.",
  "lang.set": "Язык: русский",
  "chat.subscribed": "Этот чат теперь получает карточки релизов.",
};

const TABLES: Record<Locale, Record<MessageKey, string>> = { en: EN, ru: RU };

/** A message in the given language, with {placeholders} filled. Pure. */
export function translate(locale: Locale, key: MessageKey, params: Params = {}): string {
  const template = TABLES[locale][key] ?? EN[key];
  return template.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? ""));
}

export function hasMessage(key: string): key is MessageKey {
  return key in EN;
}

/** A Telegram language_code → one of ours. */
export function localeFrom(code: string | undefined | null): Locale {
  return code?.toLowerCase().startsWith("ru") ? "ru" : "en";
}
