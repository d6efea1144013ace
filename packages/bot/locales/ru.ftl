# Тексты бота по-русски (Fluent: https://projectfluent.org/fluent/guide/).
# Те же id, что в en.ftl; тест падает, если в одном файле есть id, которого нет в другом.
# Числа склоняются по категориям CLDR: [one] 1, 21, 101; [few] 2–4, 22–24; [many] 0, 5–20, 25–30; [other] дроби.

## Роли

role-qa = QA
role-devops = DevOps
role-lead = Тимлид
role-admin = Админ

## Статусы релиза

status-initiated = создан
status-stage_building = выкатывается на stage
status-stage_building_failed = выкатка на stage не удалась
status-stage_test_rollback = репетиция отката
status-stage_test_rollback_failed = репетиция отката не удалась
status-manual_testing = ручное тестирование
status-manual_test_passed = одобрен
status-manual_test_failed = отклонён
status-deploying = выкатывается в production
status-deployed = работает в production
status-production_failed = выкатка в production не удалась
status-production_rollback = откатывается
status-rollback_done = откачен
status-rollback_failed = откат не удался

run-kind =
    { $kind ->
        [deploy] деплой
        [rollback] откат
        [rehearse] репетиция отката
       *[other] { $kind }
    }

## Карточка релиза

card-status = Статус
card-approvals = Одобрения
card-run = Запуск
card-history = История
card-rejected = Отклонил { $who } ({ $role }): { $reason }
card-rollback_to = Откат на { $tag }
card-rollback_open = ↩️ Идёт откат на { $to }: его запросил { $who } в { $at }
card-run_in_progress = ▶️ Идёт запуск { $run } ({ run-kind }, { $env })
card-run_interrupted = ⚠️ Запуск { $run } ({ run-kind }, { $env }) прерван. { $next }
card-run_rolled_back = ↩️ Запуск { $run } на { $env } откачен: { $reason }
card-run_rollback_failed = 🛑 Запуск { $run } на { $env }: откат тоже не удался: { $reason }

history-create = создан: { $who }
history-status = → { $status } ({ $who })
history-approve = ✅ { $role }: { $who }
history-reject = ⛔ { $role }: { $who } — { $reason }
history-deploy_request = 🚀 запрошен деплой в production ({ $who })
history-deploy_done = 🚀 деплой в production запущен
history-deploy_pending = ⏳ деплой в production будет повторён: { $error }
history-deploy_failed = ⚠️ деплой в production не запустился: { $error }
history-deploy_unknown = ⚠️ деплой в production мог запуститься, а мог и нет: { $error }
history-rollback_request = ↩️ запрошен откат на { $to } ({ $who })
history-rollback_dispatched = ↩️ откат на { $to } запущен: workflow отправлен
history-rollback_done = ↩️ откат на { $to } выполнен
history-rollback_pending = ⏳ откат на { $to } будет повторён: { $error }
history-rollback_failed = 🆘 откат на { $to } не удался: { $error }
history-rollback_unknown = ⚠️ откат на { $to } мог запуститься, а мог и нет: { $error }
history-run_interrupted = ⚠️ запуск { $run } ({ run-kind }, { $env }) прерван
history-run_link = запуск workflow: { $url }

## Кнопки

button-approve = ✅ Одобрить
button-reject = ❌ Отклонить
button-rollback = ↩️ Откатить
button-confirm_rollback = Да, откатить
button-confirm_rollback_to = Да, откатить на { $tag }
button-cancel = Отмена
button-rollback_to = ↩️ Откатить на { $tag }
button-back = « Назад

## Меню и команды

menu-title = relctl — выберите список
menu-active = Активные релизы
menu-successful = Успешные релизы
menu-failed = Неудачные релизы
menu-empty = Здесь релизов нет.
menu-more =
    { $shown ->
        [one] Последний { $shown } релиз
        [few] Последние { $shown } релиза
        [many] Последние { $shown } релизов
       *[other] Последние { $shown } релиза
    } из { $total }; все — в CLI (relctl releases).

help-text =
    relctl — релизы, одобрения и откаты.
    /menu — списки релизов
    /lang en|ru — язык
    /subscribe — карточки релизов в этом чате
    /help — эта справка
    Одобряйте, отклоняйте и откатывайте кнопками на карточке релиза.

commands-menu = Списки релизов
commands-lang = Язык: /lang en или /lang ru
commands-subscribe = Карточки релизов в этом чате
commands-help = Что умеет бот

lang-set = Язык: русский
chat-subscribed = Этот чат теперь получает карточки релизов.

## Сообщения в чате релиза

notice-stage_building = 🚧 { $service } { $tag } на stage
notice-stage_building_failed = ❗ { $service } { $tag }: деплой на stage не удался
notice-stage_test_rollback_failed = ❗ { $service } { $tag }: репетиция отката на stage не удалась
notice-manual_testing = 🧪 { $service } { $tag } готов к ручному тестированию
notice-manual_test_passed = 🚀 { $service } { $tag }: все одобрения получены; запускается деплой в production
notice-manual_test_failed = ⛔ { $service } { $tag } отклонён ({ $who }): { $reason }
notice-deployed = ✅ { $service } { $tag } в production
notice-production_failed = ❗ { $service } { $tag }: деплой в production не удался
notice-production_rollback = ↩️ { $service } { $tag }: production откатывается
notice-rollback_done = ↩️ { $service }: откат с { $tag } выполнен
notice-rollback_failed = 🆘 { $service } { $tag }: откат НЕ УДАЛСЯ — всем срочно посмотреть
notice-deploy_done = 🚀 Деплой { $service } { $tag } в production запущен
notice-deploy_failed = ⚠️ Деплой { $service } { $tag } в production не запустился: { $error }
notice-deploy_unknown = ⚠️ Деплой { $service } { $tag } в production мог запуститься, а мог и нет ({ $error }); проверьте, прежде чем запускать снова
notice-rollback_request_done = ↩️ Откат { $service } на { $to } запущен
notice-rollback_request_dispatched = ↩️ Откат { $service } на { $to } запущен: workflow отправлен
notice-rollback_request_failed = ⚠️ Откат { $service } на { $to } не запустился: { $error }
notice-rollback_request_unknown = ⚠️ Откат { $service } на { $to } мог запуститься, а мог и нет ({ $error }); проверьте, прежде чем запускать снова
notice-run_interrupted = ⚠️ { $service } { $tag }: запуск { $run } ({ run-kind }, { $env }) прерван: его процесс остановился, не закончив. { $next }

## Алерты

alert-firing = 🔥 { $name } — { $service }
alert-resolved = ✅ решено: { $name } — { $service }
alert-production = Сейчас в production: { $tag }, выкачен { $at }, { $by }
alert-approved = Одобрили: { $who }
alert-resolved_reply = ✅ Решено: { $name }
alert-rolled_back = ↩️ Откачено на { $to }

## Отказы (refuse-<код>): своими словами, без английского сообщения ядра

refuse-forged = Эта кнопка неизвестна.
refuse-stale = Карточка устарела; она обновлена.
refuse-other_chat = Эта кнопка из другого чата.
refuse-not_a_member = Вы не участник (ваш Telegram id: { $id }).
refuse-rollback_in_progress = Откат на { $to } уже идёт: его запросил { $who } в { $at }.
refuse-generic =
    { $kind ->
        [external] Не получилось: внешняя система (база данных, GitHub или Telegram) не ответила; попробуйте позже
        [bug] relctl: внутренняя ошибка
       *[other] Отказано: сейчас это сделать нельзя
    }
refuse-internal = relctl: внутренняя ошибка
refuse-approve_role = Отказано: этому релизу нужны одобрения ролей, которых у вас нет
refuse-not_your_turn = Отказано: сейчас от ваших ролей одобрение не ожидается
refuse-self_approval = Отказано: вы создали этот релиз и не можете его одобрить
refuse-already_approved = Отказано: вы уже одобрили этот релиз; один человек считается один раз
refuse-role_complete = Отказано: у этой роли уже есть все нужные одобрения
refuse-out_of_order = Отказано: сначала должна одобрить предыдущая роль
refuse-not_awaiting_approval = Отказано: релиз уже не ждёт одобрений
refuse-unknown_role = Отказано: политика одобрений этого релиза не требует такой роли
refuse-illegal_transition = Отказано: релиз уже перешёл в другой статус
refuse-release_not_found = Отказано: такого релиза нет
refuse-reason_required = Отказано: для отклонения нужна причина
refuse-reason_too_long = Отказано: причина длиннее 1000 символов
refuse-reason_control_character = Отказано: в причине есть управляющие символы
refuse-rollback_role = Отказано: откатывать могут только роли devops, lead и admin
refuse-service_not_covered = Отказано: сервис { $service } не в вашей зоне
refuse-environment_not_covered = Отказано: окружение { $env } не в вашей зоне
refuse-not_live = Отказано: { $service } { $tag } уже не работает в { $env }; откатывайте с карточки релиза, который работает сейчас
refuse-not_restorable = Отказано: откатить { $service } на { $to } уже нельзя
refuse-subscribe_admin = Отказано: подписать чат на карточки релизов может только админ

## Ответы на нажатие или реплику

reject-prompt = Почему вы отклоняете { $service } { $tag }? { $who }, ответьте на это сообщение, указав причину.
reject-empty = Для отклонения нужна причина.
reject-refused = { $who }, { $service } { $tag } не отклонён. { $message }

rollback-pick = На какую версию откатить { $service } с { $from }?
rollback-none = Нет более ранней версии { $service }, на которую можно откатиться.
rollback-confirm = Откатить { $service } с { $from } на { $to }?
rollback-requested = ↩️ Откат { $service } с { $from } на { $to } запросил { $who }. Карточка покажет ход.
rollback-cancelled = Откат отменён.

done-approved =
    Одобрено как { $role }; { $remaining ->
        [0] все одобрения получены.
        [one] нужно ещё { $remaining } одобрение.
        [few] нужно ещё { $remaining } одобрения.
        [many] нужно ещё { $remaining } одобрений.
       *[other] нужно ещё { $remaining } одобрения.
    }
