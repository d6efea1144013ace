import type { SchemaMigration } from "../migrations.js";

/**
 * The approvals service: members and their roles, API tokens, the chat outbox (filled by a trigger
 * on audit_events, so every audited release change — from the CLI, the API, the bot or a runbook —
 * queues its chat notification in the same transaction), Telegram cards and buttons, and the
 * production deploy requests the last approval writes.
 */
export const migration0003: SchemaMigration = {
  version: 3,
  name: "approvals service: members, tokens, outbox, cards, deploy requests",
  sql: `
CREATE TABLE members (
  telegram_id   bigint PRIMARY KEY,
  name          text NOT NULL UNIQUE,
  roles         text[] NOT NULL,
  services      text[] NOT NULL DEFAULT '{}',
  environments  text[] NOT NULL DEFAULT '{}',
  github_login  text UNIQUE,
  locale        text NOT NULL DEFAULT 'en' CHECK (locale IN ('en', 'ru')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL,
  token_hash    text NOT NULL UNIQUE,
  prefix        text NOT NULL,
  scopes        text[] NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE idempotency_keys (
  token_id      bigint NOT NULL REFERENCES api_tokens(id),
  key           text NOT NULL,
  request_hash  text NOT NULL,
  status        int NOT NULL,
  body          jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (token_id, key)
);

CREATE TABLE telegram_chats (
  chat_id            bigint PRIMARY KEY,
  locale             text CHECK (locale IN ('en', 'ru')),
  receives_releases  boolean NOT NULL DEFAULT false,
  receives_alerts    boolean NOT NULL DEFAULT false,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE release_cards (
  chat_id      bigint NOT NULL,
  release_id   bigint NOT NULL REFERENCES releases(id),
  message_id   bigint NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chat_id, release_id)
);

CREATE TABLE callback_actions (
  id            text PRIMARY KEY,
  chat_id       bigint NOT NULL,
  release_id    bigint REFERENCES releases(id),
  action        text NOT NULL,
  params        jsonb NOT NULL DEFAULT '{}'::jsonb,
  card_version  text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX callback_actions_created_idx ON callback_actions (created_at);

CREATE TABLE bot_prompts (
  chat_id            bigint NOT NULL,
  telegram_id        bigint NOT NULL,
  release_id         bigint NOT NULL REFERENCES releases(id),
  card_version       text NOT NULL,
  prompt_message_id  bigint,
  created_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chat_id, telegram_id)
);

CREATE TABLE outbox (
  id             bigserial PRIMARY KEY,
  chat_id        bigint NOT NULL,
  kind           text NOT NULL CHECK (kind IN ('release_event', 'alert', 'notice')),
  event_key      text NOT NULL,
  release_id     bigint REFERENCES releases(id),
  audit_id       bigint,
  payload        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at     timestamptz NOT NULL DEFAULT now(),
  available_at   timestamptz NOT NULL DEFAULT now(),
  attempts       int NOT NULL DEFAULT 0,
  claimed_until  timestamptz,
  sent_at        timestamptz,
  failed_at      timestamptz,
  last_error     text,
  CONSTRAINT outbox_event_once UNIQUE (chat_id, event_key)
);
CREATE INDEX outbox_pending_idx ON outbox (chat_id, id) WHERE sent_at IS NULL AND failed_at IS NULL;

CREATE TABLE deploy_requests (
  id            bigserial PRIMARY KEY,
  kind          text NOT NULL CHECK (kind IN ('deploy', 'rollback')),
  release_id    bigint NOT NULL REFERENCES releases(id),
  service_name  text NOT NULL,
  environment   text NOT NULL DEFAULT 'production',
  to_tag        text,
  requested_by  text NOT NULL,
  channel       text NOT NULL,
  trace_id      text,
  state         text NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'running', 'done', 'failed', 'unknown')),
  attempts      int NOT NULL DEFAULT 0,
  available_at  timestamptz NOT NULL DEFAULT now(),
  claimed_by    text,
  heartbeat_at  timestamptz,
  finished_at   timestamptz,
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX deploy_requests_one_deploy ON deploy_requests (release_id) WHERE kind = 'deploy';
CREATE UNIQUE INDEX deploy_requests_one_open_rollback ON deploy_requests (service_name, environment)
  WHERE kind = 'rollback' AND state IN ('pending', 'running');
CREATE INDEX deploy_requests_pending_idx ON deploy_requests (id) WHERE state = 'pending';

CREATE FUNCTION relctl_outbox_release_event() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF NEW.release_id IS NULL
     OR NEW.action NOT IN ('release.create', 'release.status', 'release.approve', 'release.reject') THEN
    RETURN NULL;
  END IF;
  INSERT INTO outbox (chat_id, kind, event_key, release_id, audit_id)
  SELECT c.chat_id, 'release_event', 'audit:' || NEW.id, NEW.release_id, NEW.id
  FROM (SELECT chat_id FROM telegram_chats WHERE receives_releases
        UNION SELECT chat_id FROM release_cards WHERE release_id = NEW.release_id) c
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$fn$;
CREATE TRIGGER audit_events_outbox AFTER INSERT ON audit_events
FOR EACH ROW EXECUTE FUNCTION relctl_outbox_release_event();
`,
};
