import type { SchemaMigration } from "../migrations.js";
import { AUDIT_CHAIN_LOCK } from "./0014-audit-chain.js";

/**
 * A write links at most 32 queued audit events as it commits (migration 16 linked the whole
 * queue): a write that takes the chain's lock after many events were queued — by writers that do
 * not link them, such as a burst of inserts from elsewhere — no longer pays for all of them in its
 * own answer. The rest stay queued for the next writes, 32 each, or relctl_audit_chain_extend(),
 * which (waiting for the lock) still links the whole queue.
 */
export const AUDIT_CHAIN_LINKS_PER_WRITE = 32;

export const migration0018: SchemaMigration = {
  version: 18,
  name: "audit chain: a write links a bounded part of the queue",
  sql: `
CREATE OR REPLACE FUNCTION relctl_audit_chain_extend(wait boolean DEFAULT true) RETURNS bigint LANGUAGE plpgsql
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
    SELECT p.event_id FROM audit_chain_pending p JOIN audit_events a ON a.id = p.event_id
    ORDER BY p.event_id LIMIT CASE WHEN wait THEN NULL ELSE ${AUDIT_CHAIN_LINKS_PER_WRITE} END
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
`,
};
