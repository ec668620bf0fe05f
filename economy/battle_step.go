package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A battle's moves and its settlement are the hot path of the game: every
// turn of every battle is one. Each is one SERIALIZABLE transaction in two
// round trips: the first begins it and reads the battle row, the pure rules
// compute the step in Go, and the second writes the step back with
// economy.battle_step (migration 010: the operation row, the battle, both
// companions, the payout and fee as ledger legs, a prize) and commits.

// battleStepFunc computes one step of a locked battle at now, changing bt
// in place, and returns the operation's memo. A refusal is stored as the
// operation's result with nothing changed; any other error aborts the
// attempt and stores nothing.
type battleStepFunc func(now time.Time, bt *Battle) (memo string, err error)

// stepBattle runs step on the battle that lock (a SELECT of battleColumns,
// with args) returns, as operation op of user, exactly
// once: a replayed op returns the first result and changes nothing. When
// lock finds no row, noRow is the outcome (a refusal is stored; any other
// error aborts). replayed reports a replay.
func (s *Service) stepBattle(ctx context.Context, kind string, op Op, user int64, noRow error, lock string, args []any,
	step battleStepFunc) (b Battle, replayed bool, err error) {
	if !op.valid() {
		return Battle{}, false, ErrBadOperation
	}
	if user <= 0 {
		return Battle{}, false, ErrBadUser
	}
	var stored []byte
	var done *Battle
	err = s.retry(ctx, kind, func(ctx context.Context) error {
		var err error
		stored, done, replayed, err = s.stepBattleOnce(ctx, kind, op, user, noRow, lock, args, step)
		return err
	})
	if errors.Is(err, ErrOverflow) {
		// Keep the refusal with the operation, like every refusal.
		replayed, err = s.mutate(ctx, kind, op, user, nil, func(context.Context, *txn) (any, error) { return nil, ErrOverflow })
		return Battle{}, replayed, err
	}
	if err != nil {
		return Battle{}, false, err
	}
	if done != nil {
		return *done, false, nil // what was stored, without decoding it again
	}
	if replayed {
		if err := s.pool.QueryRow(ctx, `SELECT result FROM economy.transactions WHERE op_id = $1`, string(op)).Scan(&stored); err != nil {
			return Battle{}, false, fmt.Errorf("economy %s: read stored result: %w", kind, err)
		}
	}
	return b, replayed, decodeResult(stored, &b)
}

// stepBattleOnce is one attempt of stepBattle: it returns the stored
// result (and the battle stored, when the step was applied), or replayed
// when op was applied before.
func (s *Service) stepBattleOnce(ctx context.Context, kind string, op Op, user int64, noRow error, lock string, args []any,
	step battleStepFunc) (stored []byte, done *Battle, replayed bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, nil, false, fmt.Errorf("economy %s: %w", kind, err)
	}
	defer conn.Release()
	defer func() {
		if conn.Conn().PgConn().TxStatus() != 'I' {
			// Leave the connection clean for the pool.
			if _, rerr := conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rerr != nil {
				_ = conn.Conn().Close(context.WithoutCancel(ctx))
			}
		}
	}()
	now := s.now()

	// Round trip 1: begin and read the battle.
	batch := &pgx.Batch{}
	batch.Queue("BEGIN ISOLATION LEVEL SERIALIZABLE")
	batch.Queue(lock, args...)
	br := conn.SendBatch(ctx, batch)
	_, err = br.Exec()
	var bt Battle
	if err == nil {
		bt, err = scanBattle(br.QueryRow())
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	var memo string
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = noRow
	case err != nil:
		return nil, nil, false, fmt.Errorf("economy %s: lock battle: %w", kind, err)
	default:
		memo, err = step(now, &bt)
	}
	if err != nil && !isRefusal(err) {
		return nil, nil, false, err
	}
	refused := err

	// Round trip 2: write the step (or store the refusal) and commit.
	batch = &pgx.Batch{}
	if err != nil {
		se, _ := encodeRefusal(err)
		stored, _ = json.Marshal(se)
		batch.Queue(`INSERT INTO economy.transactions (op_id, user_id, kind, result)
			VALUES ($1, $2, $3, $4) ON CONFLICT (op_id) DO NOTHING RETURNING id`, string(op), user, kind, stored)
	} else {
		if stored, err = json.Marshal(bt); err != nil {
			return nil, nil, false, fmt.Errorf("economy %s: encode result: %w", kind, err)
		}
		w := s.battleWrites(bt)
		var prize *string
		var winnerID *int64
		if bt.Winner != 0 {
			winnerID = &bt.Winner
		}
		if bt.Prize != "" {
			prize = &bt.Prize
		}
		batch.Queue(`SELECT economy.battle_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			string(op), user, kind, memo, stored, now,
			bt.ID, bt.State, bt.Deadline, w.escrow, w.settled,
			winnerID, bt.Fee, bt.Payout, w.companions, w.xp, w.mood, prize)
	}
	batch.Queue("COMMIT")
	br = conn.SendBatch(ctx, batch)
	var id int64
	err = br.QueryRow().Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// The refusal's insert found the operation: it was applied before.
		replayed, err = true, nil
	}
	if err == nil && !replayed {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	switch sqlState(err) {
	case "CS001":
		return nil, nil, true, nil
	case "CS002":
		return nil, nil, false, ErrOverflow
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("economy %s: %w", kind, err)
	}
	if replayed || refused != nil {
		return stored, nil, replayed, nil
	}
	return stored, &bt, false, nil
}

// battleWrite is what a step changes besides the battle row: the escrow it
// leaves, whether the battle is over, and the companions that leave it with
// their XP and mood changes.
type battleWrite struct {
	escrow     int64
	settled    bool
	companions []int64
	xp         []int64
	mood       []int32
}

// battleWrites derives the writes of a step from the battle it produced.
func (s *Service) battleWrites(bt Battle) battleWrite {
	switch bt.State {
	case BattleActive:
		return battleWrite{escrow: 2 * bt.Wager, companions: []int64{}, xp: []int64{}, mood: []int32{}}
	case BattleDone:
		win := bt.Play.Winner
		return battleWrite{settled: true,
			companions: []int64{bt.Fighters[win].Companion, bt.Fighters[1-win].Companion},
			xp:         []int64{bt.XP[win], bt.XP[1-win]},
			mood:       []int32{battleWinMood, battleLossMood}}
	default: // a challenge that ended unplayed: the challenger's companion is free
		return battleWrite{settled: true, companions: []int64{bt.Fighters[0].Companion}, xp: []int64{0}, mood: []int32{0}}
	}
}

// Mood a battle's winner and loser gain.
const (
	battleWinMood  = 10
	battleLossMood = -5
)

// advanceBattle plays one move of the side to move at now, then settles
// the battle when it is over or sets the next deadline. It changes only bt.
func (s *Service) advanceBattle(bt *Battle, move int, auto bool, now time.Time) error {
	rule := s.cat.Companions.Battle
	st, err := play(*bt.Play, bt.Fighters, bt.Play.Side, move, auto, rule.MaxTurns)
	if err != nil {
		return err
	}
	bt.Play = &st
	if !st.Over {
		bt.Deadline = now.Add(time.Duration(rule.MoveSeconds) * time.Second)
		return nil
	}
	// Settle: the escrow goes to the winner less the house fee (to the
	// Sink); both companions gain XP and leave the battle (companions in a
	// battle cannot be released, so both are there to gain).
	win := st.Winner
	bt.Winner = bt.Player(win)
	bt.Payout, bt.Fee = battlePayout(bt.Wager, rule.FeePercent)
	bt.XP[win], bt.XP[1-win] = rule.WinXP, rule.LossXP
	bt.Prize = s.cat.battlePrize(st.Seed, bt.Wager)
	bt.State = BattleDone
	return nil
}
