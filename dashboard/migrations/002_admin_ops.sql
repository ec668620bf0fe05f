-- Admin operation ids ("op") bound to their parameters, so that a replayed
-- op repeats its first success and a reused op with other parameters is
-- refused. A refusal frees its op (the next attempt gets a fresh economy
-- operation), and a replay is audited as 'replayed'.

CREATE TABLE dashboard.admin_ops (
    op         text PRIMARY KEY CHECK (length(op) BETWEEN 8 AND 64),
    actor_id   bigint NOT NULL CHECK (actor_id > 0),
    action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    params     text NOT NULL CHECK (length(params) <= 1000),
    -- attempt numbers the economy operation: dashboard:<op>:<attempt>. It
    -- moves on after a refusal and stays while the outcome is unknown.
    attempt    integer NOT NULL DEFAULT 1 CHECK (attempt >= 1),
    state      text NOT NULL CHECK (state IN ('running', 'ok', 'refused', 'failed')),
    status     integer NOT NULL DEFAULT 0,
    response   jsonb,
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE dashboard.audit_log DROP CONSTRAINT audit_log_outcome_check;
ALTER TABLE dashboard.audit_log ADD CONSTRAINT audit_log_outcome_check
    CHECK (outcome IN ('ok', 'refused', 'failed', 'replayed'));
