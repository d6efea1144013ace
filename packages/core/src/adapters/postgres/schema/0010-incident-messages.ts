import type { SchemaMigration } from "../migrations.js";

/**
 * The message each chat shows for an incident (one alert's firing, by fingerprint and start), so
 * its resolved alert edits that message (resolved, no button) and replies to it.
 */
export const migration0010: SchemaMigration = {
  version: 10,
  name: "incident messages",
  sql: `
CREATE TABLE incident_messages (
  chat_id      bigint NOT NULL,
  fingerprint  text NOT NULL,
  starts_at    text NOT NULL,
  message_id   bigint NOT NULL,
  resolved_at  timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (chat_id, fingerprint, starts_at)
);
`,
};
