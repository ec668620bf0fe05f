-- Admin adjustments (dashboard) record who made them and why on the
-- operation row; both are NULL for users' own commands.

ALTER TABLE economy.transactions
    ADD COLUMN admin_id bigint CHECK (admin_id > 0),
    ADD COLUMN reason   text CHECK (length(reason) BETWEEN 1 AND 200),
    ADD CONSTRAINT transactions_admin_reason CHECK ((admin_id IS NULL) = (reason IS NULL));
