-- A battle's moves and its settlement are HOT updates of economy.battles
-- again (007 relies on it): no index of the table may cover a column a step
-- writes (state, deadline, escrow, battle, winner, fee, settled_at), or each
-- settlement adds entries to every index of the table, and SERIALIZABLE
-- settlements whose battles share an index page abort each other (a
-- thousand concurrent battles retried about 2.5 times per settlement).
-- 011's partial index battles_won (winner) WHERE state = 'done' covered two;
-- the wins it served are now rows of their own, written when a battle ends
-- by the one trigger that also queues the winner on the achievement and
-- board outboxes (011's two triggers, one function call fewer per
-- settlement). Wins are read outside SERIALIZABLE transactions (the
-- achievement check, the boards' processor): their inserts conflict with
-- nothing.
CREATE TABLE economy.battle_wins (
    winner    bigint NOT NULL CHECK (winner > 0),
    battle_id bigint NOT NULL,
    PRIMARY KEY (winner, battle_id)
);
INSERT INTO economy.battle_wins (winner, battle_id)
    SELECT winner, id FROM economy.battles WHERE state = 'done' AND winner > 0;

CREATE FUNCTION economy.battle_won() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO economy.battle_wins (winner, battle_id) VALUES (NEW.winner, NEW.id);
    INSERT INTO economy.achievement_outbox (user_id, tx_id) VALUES (NEW.winner, -NEW.id)
        ON CONFLICT DO NOTHING;
    INSERT INTO economy.board_outbox (user_id) VALUES (NEW.winner);
    RETURN NULL;
END $$;
DROP TRIGGER battles_achievements ON economy.battles;
DROP TRIGGER battles_board ON economy.battles;
DROP FUNCTION economy.achievement_queue_winner();
DROP FUNCTION economy.board_queue_winner();
CREATE TRIGGER battles_won AFTER UPDATE ON economy.battles
    FOR EACH ROW WHEN (NEW.state = 'done' AND OLD.state IS DISTINCT FROM 'done' AND NEW.winner > 0)
    EXECUTE FUNCTION economy.battle_won();
DROP INDEX economy.battles_won;
