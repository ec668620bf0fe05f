-- Achievements through a transactional outbox. Every change that can earn
-- a player an achievement queues the player in the same transaction:
-- triggers on the operation log (the acting player), the ledger and the
-- item ledger (everyone whose credits or items moved), and a battle's end
-- (its winner; tx_id is then minus the battle's ID). A check then takes
-- a player's queued rows and awards what their progress reached in one
-- SERIALIZABLE transaction, so a crash between the action and the award
-- neither loses the award (the rows wait for any node's sweep) nor gives
-- it twice (the rows and the award commit together, and an achievement is
-- one row per player).

CREATE TABLE economy.achievement_outbox (
    user_id   bigint NOT NULL CHECK (user_id > 0),
    tx_id     bigint NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, tx_id)
);
CREATE INDEX achievement_outbox_by_age ON economy.achievement_outbox (queued_at);

CREATE FUNCTION economy.achievement_queue_actor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.achievement_outbox (user_id, tx_id)
        SELECT DISTINCT user_id, id FROM new_rows WHERE user_id > 0 AND NOT (result ? 'err')
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION economy.achievement_queue_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.achievement_outbox (user_id, tx_id)
        SELECT DISTINCT account_id, tx_id FROM new_rows WHERE account_id > 0
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE FUNCTION economy.achievement_queue_item_legs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.achievement_outbox (user_id, tx_id)
        SELECT DISTINCT owner_id, tx_id FROM new_rows WHERE owner_id > 0
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER transactions_achievements AFTER INSERT ON economy.transactions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION economy.achievement_queue_actor();
CREATE TRIGGER ledger_legs_achievements AFTER INSERT ON economy.ledger_legs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION economy.achievement_queue_legs();
CREATE TRIGGER item_legs_achievements AFTER INSERT ON economy.item_legs
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION economy.achievement_queue_item_legs();

-- A battle's winner is queued when it ends, wager or not; progress counts
-- a player's wins.
CREATE FUNCTION economy.achievement_queue_winner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.achievement_outbox (user_id, tx_id) VALUES (NEW.winner, -NEW.id)
        ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER battles_achievements AFTER UPDATE ON economy.battles
    FOR EACH ROW WHEN (NEW.state = 'done' AND OLD.state IS DISTINCT FROM 'done' AND NEW.winner > 0)
    EXECUTE FUNCTION economy.achievement_queue_winner();
CREATE INDEX battles_won ON economy.battles (winner) WHERE state = 'done';

-- The companions and battles boards: a companion's owner is queued on the
-- board outbox when it comes, goes or gains XP, and a battle's winner when
-- it ends.
CREATE FUNCTION economy.board_queue_companion() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO economy.board_outbox (user_id) VALUES (OLD.owner_id);
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.owner_id <> OLD.owner_id) THEN
        INSERT INTO economy.board_outbox (user_id) VALUES (NEW.owner_id);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER companions_board_insert AFTER INSERT OR DELETE ON economy.companions
    FOR EACH ROW EXECUTE FUNCTION economy.board_queue_companion();
CREATE TRIGGER companions_board_update AFTER UPDATE OF xp, owner_id ON economy.companions
    FOR EACH ROW WHEN (OLD.xp IS DISTINCT FROM NEW.xp OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)
    EXECUTE FUNCTION economy.board_queue_companion();

CREATE FUNCTION economy.board_queue_winner() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.board_outbox (user_id) VALUES (NEW.winner);
    RETURN NULL;
END $$;
CREATE TRIGGER battles_board AFTER UPDATE ON economy.battles
    FOR EACH ROW WHEN (NEW.state = 'done' AND OLD.state IS DISTINCT FROM 'done' AND NEW.winner > 0)
    EXECUTE FUNCTION economy.board_queue_winner();
