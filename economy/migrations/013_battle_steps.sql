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
    -- A battle ends once, so its row is new: no ON CONFLICT, whose probe
    -- would take a SERIALIZABLE read lock on the outbox's index page.
    INSERT INTO economy.achievement_outbox (user_id, tx_id) VALUES (NEW.winner, -NEW.id);
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

-- battle_step_at writes one step of a battle (a move, an automatic move,
-- the settlement that ends it, or an expired challenge) as operation
-- p_op, computed on the battle as a node last saw it: in one round trip
-- (BEGIN, this, COMMIT) when the node need not read the battle first.
-- p_version is the row version (xmin) of the battle the step was computed
-- on, NULL when there was no such battle. When the row is no longer at
-- that version it changes nothing and returns -1: the caller reads the
-- battle again. A refusal (p_refused) stores p_result as the operation's
-- result and returns 0, or -2 when the operation was applied before. A
-- step writes what 010's battle_step writes (kept for the previous
-- version's nodes while a cluster upgrades) and returns the battle's new
-- version. A replayed step's operation row raises unique_violation on
-- transactions_op_id_key: no ON CONFLICT, whose probe of the index would
-- take a SERIALIZABLE read lock on the page every concurrent step inserts
-- into. A payout that would overflow the winner's wallet raises CS002.
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
    v_tx      bigint;
    v_n       integer;
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
    IF p_payout < 0 OR p_fee < 0 OR p_escrow < 0 OR (p_payout > 0 AND p_winner IS NULL) THEN
        RAISE EXCEPTION 'invalid battle step' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO economy.transactions (op_id, user_id, kind, memo, result)
        VALUES (p_op, p_user, p_kind, p_memo, p_result) RETURNING id INTO v_tx;
    IF p_payout > 0 THEN
        -- The winner's account exists: it paid its wager into escrow.
        UPDATE economy.accounts SET wallet = wallet + p_payout
            WHERE user_id = p_winner AND wallet <= 9223372036854775807 - p_payout;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'overflow' USING ERRCODE = 'CS002';
        END IF;
    END IF;
    IF cardinality(p_companions) > 0 THEN
        -- id = ANY: an index scan whatever the table's size (a join with
        -- unnest may scan the table, and SERIALIZABLE then locks all of it).
        UPDATE economy.companions c SET battle_id = NULL,
                xp = c.xp + p_xp[array_position(p_companions, c.id)],
                mood = least(100, greatest(0, c.mood + p_mood[array_position(p_companions, c.id)]))
            WHERE c.id = ANY (p_companions) AND c.battle_id = p_battle;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        IF p_state = 'done' AND v_n <> cardinality(p_companions) THEN
            RAISE EXCEPTION 'settle battle %: % companions in it, want %', p_battle, v_n, cardinality(p_companions);
        END IF;
    END IF;
    IF p_settled THEN
        DELETE FROM economy.open_battles WHERE battle_id = p_battle;
    END IF;
    -- The battle column holds the result's battle parts (battleDoc).
    UPDATE economy.battles SET state = p_state, deadline = p_deadline, escrow = p_escrow,
            battle = (SELECT jsonb_object_agg(key, value) FROM jsonb_each(p_result)
                WHERE key IN ('fighters', 'play', 'note', 'payout', 'xp', 'prize')),
            winner = CASE WHEN p_settled THEN p_winner END,
            fee = CASE WHEN p_settled THEN p_fee END,
            settled_at = CASE WHEN p_settled THEN p_now END
        WHERE id = p_battle
        RETURNING xmin::text::bigint INTO v_version;
    IF v_version IS NULL THEN
        RAISE EXCEPTION 'battle % not found', p_battle;
    END IF;
    IF p_payout > 0 OR p_fee > 0 THEN
        INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
            SELECT a, v_tx, v FROM (VALUES (p_winner, p_payout), (-7, -(p_payout + p_fee)), (-2, p_fee)) AS l(a, v)
            WHERE v <> 0;
    END IF;
    IF p_prize IS NOT NULL THEN
        INSERT INTO economy.items (owner_id, item_key, acquired_at) VALUES (p_winner, p_prize, p_now);
        INSERT INTO economy.item_legs (tx_id, owner_id, item_key, delta, reason) VALUES (v_tx, p_winner, p_prize, 1, 'prize');
    END IF;
    RETURN v_version;
END $$;
