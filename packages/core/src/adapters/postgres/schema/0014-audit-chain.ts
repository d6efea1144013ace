import { AUDIT_CHAIN_GENESIS } from "../../../domain/audit-chain.js";
import type { SchemaMigration } from "../migrations.js";

/** The advisory lock that puts the audit chain's links in one order (migrations use 7215001). */
export const AUDIT_CHAIN_LOCK = 7215002;

/**
 * A hash chain over the audit events, so a rewrite is detected (relctl audit verify). Each event
 * gets one link in audit_chain: its place (`seq`), the hash of the link before it, and
 * sha256(previous hash, seq, the event's canonical content). The link is written by a trigger
 * owned by the database owner as each inserting transaction commits (a deferred constraint
 * trigger, so the chain's lock is held only while committing and is the last lock taken); the
 * runtime role cannot skip, disable or write it. audit_chain is append-only like audit_events.
 *
 * Canonical content: each field as `<UTF-8 byte length>:<text>` (`~` for NULL), in the order
 * previous hash, seq, id, at (UTC, microseconds), actor, channel, action, release_id, before and
 * after (jsonb's text), trace_id. core's verifyAuditChain computes the same from the stored rows.
 * The events already recorded are linked in id order.
 */
export const migration0014: SchemaMigration = {
  version: 14,
  name: "audit hash chain",
  sql: `
CREATE TABLE audit_chain (
  seq        bigint PRIMARY KEY,
  event_id   bigint NOT NULL UNIQUE,
  prev_hash  text NOT NULL,
  hash       text NOT NULL
);

CREATE FUNCTION relctl_audit_field(v text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$
  SELECT CASE WHEN v IS NULL THEN '~' ELSE octet_length(convert_to(v, 'UTF8'))::text || ':' || v END
$fn$;

CREATE FUNCTION relctl_audit_link_hash(prev_hash text, seq bigint, e audit_events) RETURNS text
LANGUAGE sql STABLE AS $fn$
  SELECT encode(sha256(convert_to(
    relctl_audit_field(prev_hash) || relctl_audit_field(seq::text) || relctl_audit_field(e.id::text)
    || relctl_audit_field(to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    || relctl_audit_field(e.actor) || relctl_audit_field(e.channel) || relctl_audit_field(e.action)
    || relctl_audit_field(e.release_id::text) || relctl_audit_field(e.before::text)
    || relctl_audit_field(e.after::text) || relctl_audit_field(e.trace_id),
    'UTF8')), 'hex')
$fn$;

CREATE FUNCTION relctl_audit_chain_link() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  head_seq bigint;
  head_hash text;
BEGIN
  PERFORM pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK});
  SELECT c.seq, c.hash INTO head_seq, head_hash FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0) + 1;
  head_hash := coalesce(head_hash, '${AUDIT_CHAIN_GENESIS}');
  INSERT INTO audit_chain (seq, event_id, prev_hash, hash)
  VALUES (head_seq, NEW.id, head_hash, relctl_audit_link_hash(head_hash, head_seq, NEW));
  RETURN NULL;
END
$fn$;

DO $do$
DECLARE
  e audit_events;
  n bigint := 0;
  h text := '${AUDIT_CHAIN_GENESIS}';
  next_hash text;
BEGIN
  FOR e IN SELECT * FROM audit_events ORDER BY id LOOP
    n := n + 1;
    next_hash := relctl_audit_link_hash(h, n, e);
    INSERT INTO audit_chain (seq, event_id, prev_hash, hash) VALUES (n, e.id, h, next_hash);
    h := next_hash;
  END LOOP;
END
$do$;

CREATE CONSTRAINT TRIGGER audit_events_chain AFTER INSERT ON audit_events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION relctl_audit_chain_link();

CREATE OR REPLACE FUNCTION relctl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END
$fn$;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE OR DELETE ON audit_chain
FOR EACH ROW EXECUTE FUNCTION relctl_audit_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
FOR EACH STATEMENT EXECUTE FUNCTION relctl_audit_append_only();
`,
};
