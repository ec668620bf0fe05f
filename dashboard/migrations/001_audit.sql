-- The dashboard's audit log: every admin action and every refused admin
-- attempt (who, what, when, from where). Append-only: a trigger refuses
-- UPDATE, DELETE and TRUNCATE for every role, the owner included.

CREATE SCHEMA IF NOT EXISTS dashboard;

CREATE TABLE dashboard.audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor_id   bigint NOT NULL CHECK (actor_id >= 0), -- 0: not logged in
    actor_name text NOT NULL DEFAULT '' CHECK (length(actor_name) <= 100),
    action     text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
    target     text NOT NULL DEFAULT '' CHECK (length(target) <= 200),
    outcome    text NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    detail     text NOT NULL DEFAULT '' CHECK (length(detail) <= 2000),
    ip         text NOT NULL DEFAULT '' CHECK (length(ip) <= 64),
    user_agent text NOT NULL DEFAULT '' CHECK (length(user_agent) <= 300)
);
CREATE INDEX audit_log_actor ON dashboard.audit_log (actor_id, id);

CREATE FUNCTION dashboard.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'dashboard.audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON dashboard.audit_log
    FOR EACH ROW EXECUTE FUNCTION dashboard.audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON dashboard.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION dashboard.audit_append_only();
