import { AUDIT_CHAIN_GENESIS } from "../../../domain/audit-chain.js";
import type { SchemaMigration } from "../migrations.js";
import { AUDIT_CHAIN_LOCK } from "./0014-audit-chain.js";

/**
 * The audit chain without a wait on every write. Migration 14's trigger took the chain's lock for
 * each inserting transaction and held it through that transaction's commit, so every write queued
 * behind the one before it (its WAL flush included): writes were serial, one flush each.
 *
 * Now each event, as its transaction commits, is queued in audit_chain_pending (by the same
 * owner's trigger, audit_events_chain), and the trigger links what is queued only if the chain's
 * lock is free at that moment (pg_try_advisory_xact_lock): it links the queued events that have
 * committed and its own, in id order, and holds the lock through its commit as before. A
 * transaction that finds the lock taken does not wait: its event stays queued, committed with it,
 * and is linked by the next transaction that takes the lock — the next write, or
 * relctl_audit_chain_extend(), which waits for the lock and links everything queued (the
 * trigger sends the writing client a notice, AUDIT_EVENT_QUEUED_NOTICE, and the approvals service
 * then calls it; relctl audit verify and export call it before they read). The chain is the same: one order, each link the hash of the one before it and its
 * event (migration 14's relctl_audit_link_hash), written only by the owner's functions; the
 * runtime role cannot write, empty or skip the queue. Only read-committed transactions link (a
 * longer snapshot could not see the chain's head); others leave their events queued.
 */
/** The notice the chain's trigger sends to the writing client when it queues an event. */
export const AUDIT_EVENT_QUEUED_NOTICE = "relctl_audit_event_queued";

export const migration0016: SchemaMigration = {
  version: 16,
  name: "audit chain without waiting",
  sql: `
CREATE TABLE audit_chain_pending (
  event_id bigint PRIMARY KEY
);

-- One link, at the chain's head, for an event the caller sees; only under the chain's lock, so only
-- the owner's functions below call it.
CREATE FUNCTION relctl_audit_chain_append(event_id bigint) RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $fn$
DECLARE
  head_seq bigint;
  head_hash text;
  e audit_events;
BEGIN
  SELECT a.* INTO STRICT e FROM audit_events a WHERE a.id = event_id;
  SELECT c.seq, c.hash INTO head_seq, head_hash FROM audit_chain c ORDER BY c.seq DESC LIMIT 1;
  head_seq := coalesce(head_seq, 0) + 1;
  head_hash := coalesce(head_hash, '${AUDIT_CHAIN_GENESIS}');
  INSERT INTO audit_chain (seq, event_id, prev_hash, hash)
  VALUES (head_seq, e.id, head_hash, relctl_audit_link_hash(head_hash, head_seq, e));
END
$fn$;
REVOKE ALL ON FUNCTION relctl_audit_chain_append(bigint) FROM PUBLIC;

-- Links the queued events that have committed (and the caller's own), in id order; returns how
-- many. wait: wait for the chain's lock (else link nothing, NULL, when another transaction holds it).
CREATE FUNCTION relctl_audit_chain_extend(wait boolean DEFAULT true) RETURNS bigint LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  ev bigint;
  linked bigint[] := '{}';
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    IF wait THEN
      RAISE EXCEPTION 'relctl_audit_chain_extend: run it in a read committed transaction'
        USING ERRCODE = 'invalid_transaction_state';
    END IF;
    RETURN NULL;
  END IF;
  IF wait THEN
    PERFORM pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK});
  ELSIF NOT pg_try_advisory_xact_lock(${AUDIT_CHAIN_LOCK}) THEN
    RETURN NULL;
  END IF;
  FOR ev IN
    SELECT p.event_id FROM audit_chain_pending p JOIN audit_events a ON a.id = p.event_id ORDER BY p.event_id
  LOOP
    PERFORM relctl_audit_chain_append(ev);
    linked := linked || ev;
  END LOOP;
  IF cardinality(linked) > 0 THEN
    DELETE FROM audit_chain_pending WHERE event_id = ANY (linked);
  END IF;
  RETURN cardinality(linked);
END
$fn$;

-- The chain's trigger (audit_events_chain, deferred: it runs as the event's transaction commits):
-- with the chain's lock free, the queued events that have committed and then this one are
-- linked, the lock held through the commit; with it taken, the event is queued.
CREATE OR REPLACE FUNCTION relctl_audit_chain_link() RETURNS trigger LANGUAGE plpgsql
SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
BEGIN
  IF relctl_audit_chain_extend(false) IS NULL THEN
    INSERT INTO audit_chain_pending (event_id) VALUES (NEW.id);
    -- Tells the writing client that an event waits for its link (relctl serve then links the queue).
    RAISE NOTICE '${AUDIT_EVENT_QUEUED_NOTICE}' USING DETAIL = NEW.id::text;
  ELSE
    PERFORM relctl_audit_chain_append(NEW.id);
  END IF;
  RETURN NULL;
END
$fn$;
`,
};
