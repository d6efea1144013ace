# The bot's English texts (Fluent: https://projectfluent.org/fluent/guide/).
# A message id is the key the code uses with "-" for "." (card.status → card-status).
# ru.ftl has the same ids; a test fails when one file has an id the other lacks.

## Roles

role-qa = QA Team
role-devops = DevOps
role-lead = Team Lead
role-admin = Admin

## Release statuses (status-<id>, one for each id core knows)

status-initiated = created
status-stage_building = deploying to stage
status-stage_building_failed = stage deploy failed
status-stage_test_rollback = rehearsing the rollback
status-stage_test_rollback_failed = rollback rehearsal failed
status-manual_testing = manual testing
status-manual_test_passed = approved
status-manual_test_failed = rejected
status-deploying = deploying to production
status-deployed = deployed
status-production_failed = production deploy failed
status-production_rollback = rolling back
status-rollback_done = rolled back
status-rollback_failed = rollback failed

# A runbook run's kind, as other messages name it ({ run-kind } with $kind).
run-kind =
    { $kind ->
        [deploy] deploy
        [rollback] rollback
        [rehearse] rollback rehearsal
       *[other] { $kind }
    }

## The release card

card-status = Status
card-approvals = Approvals
card-run = Run
card-history = History
card-rejected = Rejected by { $who } ({ $role }): { $reason }
card-rollback_to = Rolling back to { $tag }
card-rollback_open = ↩️ A rollback to { $to } is under way, requested by { $who } at { $at }
card-run_in_progress = ▶️ Run { $run } ({ run-kind } to { $env }) in progress
card-run_interrupted = ⚠️ Run { $run } ({ run-kind } to { $env }) interrupted. { $next }
card-run_rolled_back = ↩️ Run { $run } on { $env } was rolled back: { $reason }
card-run_rollback_failed = 🛑 Run { $run } on { $env }: the rollback failed too: { $reason }

history-create = created by { $who }
history-status = → { $status } ({ $who })
history-approve = ✅ { $role }: { $who }
history-reject = ⛔ { $role }: { $who } — { $reason }
history-deploy_request = 🚀 production deploy requested ({ $who })
history-deploy_done = 🚀 production deploy started
history-deploy_pending = ⏳ production deploy will be tried again: { $error }
history-deploy_failed = ⚠️ production deploy could not start: { $error }
history-deploy_unknown = ⚠️ production deploy may or may not have started: { $error }
history-rollback_request = ↩️ rollback to { $to } requested ({ $who })
history-rollback_dispatched = ↩️ rollback to { $to } started: its workflow was dispatched
history-rollback_done = ↩️ rollback to { $to } done
history-rollback_pending = ⏳ rollback to { $to } will be tried again: { $error }
history-rollback_failed = 🆘 rollback to { $to } failed: { $error }
history-rollback_unknown = ⚠️ rollback to { $to } may or may not have started: { $error }
history-run_interrupted = ⚠️ run { $run } ({ run-kind } to { $env }) interrupted
history-run_link = workflow run: { $url }

## Buttons

button-approve = ✅ Approve
button-reject = ❌ Reject
button-rollback = ↩️ Rollback
button-confirm_rollback = Yes, roll back
button-confirm_rollback_to = Yes, roll back to { $tag }
button-cancel = Cancel
button-rollback_to = ↩️ Roll back to { $tag }
button-back = « Back

## The menu and the commands

menu-title = relctl — choose a list
menu-active = Active releases
menu-successful = Successful releases
menu-failed = Failed releases
menu-empty = No releases here.
# $shown of $total releases are listed (the list's limit).
menu-more =
    The newest { $shown ->
        [one] release
       *[other] { $shown } releases
    } of { $total }; the CLI lists them all (relctl releases).

help-text =
    relctl — releases, approvals and rollbacks.
    /menu — release lists
    /lang en|ru — language
    /subscribe — release cards in this chat
    /help — this help
    Approve, reject and roll back with the buttons on a release's card.

commands-menu = Release lists
commands-lang = Language: /lang en or /lang ru
commands-subscribe = Release cards in this chat
commands-help = What the bot does

lang-set = Language: English
chat-subscribed = This chat now receives release cards.

## Notices in a release's chat

notice-stage_building = 🚧 { $service } { $tag } is on stage
notice-stage_building_failed = ❗ { $service } { $tag }: the stage deploy failed
notice-stage_test_rollback_failed = ❗ { $service } { $tag }: the rollback rehearsal on stage failed
notice-manual_testing = 🧪 { $service } { $tag } is ready for manual testing
notice-manual_test_passed = 🚀 { $service } { $tag }: every approval is in; the production deploy starts
notice-manual_test_failed = ⛔ { $service } { $tag } was rejected by { $who }: { $reason }
notice-deployed = ✅ { $service } { $tag } is deployed to production
notice-production_failed = ❗ { $service } { $tag }: the production deploy failed
notice-production_rollback = ↩️ { $service } { $tag }: production is rolling back
notice-rollback_done = ↩️ { $service }: rolled back from { $tag }
notice-rollback_failed = 🆘 { $service } { $tag }: the rollback FAILED — everyone, please look now
notice-deploy_done = 🚀 Production deploy of { $service } { $tag } started
notice-deploy_failed = ⚠️ Production deploy of { $service } { $tag } could not start: { $error }
notice-deploy_unknown = ⚠️ Production deploy of { $service } { $tag } may or may not have started ({ $error }); check before starting it again
notice-rollback_request_done = ↩️ Rollback of { $service } to { $to } started
notice-rollback_request_dispatched = ↩️ Rollback of { $service } to { $to } started: its workflow was dispatched
notice-rollback_request_failed = ⚠️ Rollback of { $service } to { $to } could not start: { $error }
notice-rollback_request_unknown = ⚠️ Rollback of { $service } to { $to } may or may not have started ({ $error }); check before starting it again
notice-run_interrupted = ⚠️ { $service } { $tag }: run { $run } ({ run-kind } to { $env }) was interrupted, its process stopped without finishing. { $next }

## Alerts

alert-firing = 🔥 { $name } — { $service }
alert-resolved = ✅ resolved: { $name } — { $service }
alert-production = Production runs { $tag }, deployed { $at } by { $by }
alert-approved = Approved by { $who }
alert-resolved_reply = ✅ Resolved: { $name }
alert-rolled_back = ↩️ Rolled back to { $to }

## Refusals (refuse-<code>; English keeps core's detailed message, $message)

refuse-forged = This button is not known.
refuse-stale = This card is out of date; it has been refreshed.
refuse-other_chat = This button belongs to another chat.
refuse-not_a_member = You are not a member (your Telegram id is { $id }).
refuse-rollback_in_progress = A rollback to { $to } is under way, requested by { $who } at { $at }.
# A refusal without a text of its own; $kind is the error's kind (usage, state, external, bug).
refuse-generic = Refused: { $message }
refuse-internal = relctl: internal error
refuse-approve_role = Refused: { $message }
refuse-not_your_turn = Refused: { $message }
refuse-self_approval = Refused: { $message }
refuse-already_approved = Refused: { $message }
refuse-role_complete = Refused: { $message }
refuse-out_of_order = Refused: { $message }
refuse-not_awaiting_approval = Refused: { $message }
refuse-unknown_role = Refused: { $message }
refuse-illegal_transition = Refused: { $message }
refuse-release_not_found = Refused: { $message }
refuse-reason_required = Refused: { $message }
refuse-reason_too_long = Refused: { $message }
refuse-reason_control_character = Refused: { $message }
refuse-rollback_role = Refused: rolling back needs one of the roles devops, lead, admin
refuse-service_not_covered = Refused: you do not cover the service { $service }
refuse-environment_not_covered = Refused: you do not cover the { $env } environment
refuse-not_live = Refused: { $service } { $tag } no longer runs in { $env }; roll back from the card of the release that runs now
refuse-not_restorable = Refused: { $to } is no longer a version { $service } can roll back to
refuse-subscribe_admin = Refused: only an admin can subscribe a chat

## Answers to a press or a reply

reject-prompt = Why do you reject { $service } { $tag }? { $who }, reply to this message with the reason.
reject-empty = A rejection needs a reason.
reject-refused = { $who }, { $service } { $tag } is not rejected. { $message }

rollback-pick = Roll back { $service } from { $from } to which version?
rollback-none = No earlier version of { $service } can be restored.
rollback-confirm = Roll back { $service } from { $from } to { $to }?
rollback-requested = ↩️ Rollback of { $service } from { $from } to { $to } requested by { $who }. The card follows it.
rollback-cancelled = Rollback cancelled.

# $remaining: how many approvals the release still waits for after this one.
done-approved =
    Approved as { $role }; { $remaining ->
        [0] every approval is in.
        [one] { $remaining } more approval is needed.
       *[other] { $remaining } more approvals are needed.
    }
