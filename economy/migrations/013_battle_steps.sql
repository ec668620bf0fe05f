-- Battle steps, faster: a settlement is a HOT update again (the wins move
-- to a table of their own), and a move on a battle the node saw last is
-- one round trip (battle_step_at).
--
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

-- battle_step_at is battle_step for a step computed on the battle as a
-- node last saw it, without reading it in this transaction first: one
-- round trip (BEGIN, this, COMMIT) instead of two. p_version is the row
-- version (xmin) of that battle, NULL when there was no such battle. When
-- the row is no longer at that version it changes nothing and returns -1:
-- the caller reads the battle again. Otherwise it writes the step (a
-- refusal, p_refused, stores p_result as the operation's result and
-- nothing else) and returns the battle's new version, 0 for a refusal, or
-- -2 when the refusal's operation was applied before. As in battle_step, a
-- replayed step raises CS001 and an overflowing payout CS002.
--
-- A version is a transaction ID, so it repeats only after 2^32 writing
-- transactions; a node keeps what it saw of a battle for minutes.
CREATE FUNCTION economy.battle_step_at(p_version bigint, p_refused boolean,
    p_op text, p_user bigint, p_kind text, p_memo text, p_result jsonb, p_now timestamptz,
    p_battle bigint, p_state text, p_deadline timestamptz, p_escrow bigint, p_settled boolean,
    p_winner bigint, p_fee bigint, p_payout bigint,
    p_companions bigint[], p_xp bigint[], p_mood integer[], p_prize text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_version bigint;
BEGIN
    -- Under SERIALIZABLE this read is the step's read of the battle: a
    -- step that commits concurrently fails one of the two.
    SELECT xmin::text::bigint INTO v_version FROM economy.battles WHERE id = p_battle;
    IF v_version IS DISTINCT FROM p_version THEN
        RETURN -1;
    END IF;
    IF p_refused THEN
        INSERT INTO economy.transactions (op_id, user_id, kind, result)
            VALUES (p_op, p_user, p_kind, p_result) ON CONFLICT (op_id) DO NOTHING;
        RETURN CASE WHEN FOUND THEN 0 ELSE -2 END;
    END IF;
    PERFORM economy.battle_step(p_op, p_user, p_kind, p_memo, p_result, p_now,
        p_battle, p_state, p_deadline, p_escrow, p_settled, p_winner, p_fee, p_payout,
        p_companions, p_xp, p_mood, p_prize);
    SELECT xmin::text::bigint INTO v_version FROM economy.battles WHERE id = p_battle;
    RETURN v_version;
END $$;
