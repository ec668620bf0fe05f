-- battle_step writes one step of a battle back (a move, an automatic move,
-- the settlement that ends it, or an expired challenge) as operation p_op,
-- in one statement (one round trip) inside the caller's SERIALIZABLE
-- transaction, which locked the battle row and computed the step with the
-- pure battle rules. Like economy.transfer, a replayed op_id raises
-- SQLSTATE CS001 (the caller rolls back and reads the first result) and a
-- payout that would overflow the winner's wallet raises CS002.
--
-- p_result is the step's result, the battle as the caller computed it;
-- the battle row keeps its battle parts (fighters, play, note, payout, xp,
-- prize: Go's battleDoc). A settlement (p_settled) leaves the open battles; p_companions leave the
-- battle, gaining p_xp and p_mood (a 'done' battle must find both still in
-- it); the escrow pays p_payout to p_winner and p_fee to the Sink (-2); a
-- p_prize goes to the winner. Every credit and item is a ledger leg.
CREATE FUNCTION economy.battle_step(
    p_op text, p_user bigint, p_kind text, p_memo text, p_result jsonb, p_now timestamptz,
    p_battle bigint, p_state text, p_deadline timestamptz, p_escrow bigint, p_settled boolean,
    p_winner bigint, p_fee bigint, p_payout bigint,
    p_companions bigint[], p_xp bigint[], p_mood integer[], p_prize text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    v_tx bigint;
    v_n  integer;
BEGIN
    IF p_payout < 0 OR p_fee < 0 OR p_escrow < 0 OR (p_payout > 0 AND p_winner IS NULL) THEN
        RAISE EXCEPTION 'invalid battle step' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO economy.transactions (op_id, user_id, kind, memo, result)
        VALUES (p_op, p_user, p_kind, p_memo, p_result)
        ON CONFLICT (op_id) DO NOTHING RETURNING id INTO v_tx;
    IF v_tx IS NULL THEN
        RAISE EXCEPTION 'operation % already applied', p_op USING ERRCODE = 'CS001';
    END IF;
    IF p_payout > 0 THEN
        -- The winner's account exists: it paid its wager into escrow.
        UPDATE economy.accounts SET wallet = wallet + p_payout
            WHERE user_id = p_winner AND wallet <= 9223372036854775807 - p_payout;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'overflow' USING ERRCODE = 'CS002';
        END IF;
    END IF;
    IF cardinality(p_companions) > 0 THEN
        UPDATE economy.companions c SET battle_id = NULL, xp = c.xp + u.xp,
                mood = least(100, greatest(0, c.mood + u.mood))
            FROM unnest(p_companions, p_xp, p_mood) AS u(id, xp, mood)
            WHERE c.id = u.id AND c.battle_id = p_battle;
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
        WHERE id = p_battle;
    IF NOT FOUND THEN
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
    RETURN v_tx;
END $$;
