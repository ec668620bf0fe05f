package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A battle's moves and its settlement are the hot path of the game: every
// turn of every battle is one. Each is one SERIALIZABLE transaction whose
// step the pure rules compute in Go, written with economy.battle_step_at
// (migration 013: the operation row, the battle, both companions, the
// payout and fee as ledger legs, a prize, in one statement), which
// applies it only while the battle's row is at the version the step was
// computed on. A move on a battle this node last stepped or read
// (battleCache) is one round trip: BEGIN, the step, COMMIT. Otherwise, or
// when the row moved on meanwhile, the node reads the battle first. The
// sweep reads and locks its battles in the transaction (SKIP LOCKED) and
// writes in a second round trip.

// battleStepFunc computes one step of a locked battle at now, changing bt
// in place, and returns the operation's memo. A refusal is stored as the
// operation's result with nothing changed; any other error aborts the
// attempt and stores nothing.
type battleStepFunc func(now time.Time, bt *Battle) (memo string, err error)

// battleLock is a sweep's locking read of a battle in its transaction: a
// SELECT of battleColumns and battleVersion, with args.
type battleLock struct {
	sql  string
	args []any
}

// Outcomes of economy.battle_step_at other than a new row version.
const (
	stepRefused  = 0  // the refusal was stored
	stepStale    = -1 // the battle is no longer at the version given
	stepReplayed = -2 // the refusal's operation was applied before
)

// errBattleMoved is a step computed on a battle read just before that
// another transaction changed meanwhile: the step is retried.
var errBattleMoved = errors.New("economy: the battle changed between its read and its step")

// stepBattle runs step on battle id as operation op of user, exactly
// once: a replayed op returns the first result and changes nothing. With
// lock it reads the battle in the transaction, else where this node last
// saw it (or reads it). When there is no such battle, noRow is the
// outcome (a refusal is stored; any other error aborts). replayed reports
// a replay.
func (s *Service) stepBattle(ctx context.Context, kind string, op Op, user, id int64, noRow error, lock *battleLock,
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
		stored, done, replayed, err = s.stepBattleOnce(ctx, kind, op, user, id, noRow, lock, step)
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
func (s *Service) stepBattleOnce(ctx context.Context, kind string, op Op, user, id int64, noRow error, lock *battleLock,
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
	for {
		var bt Battle
		var version *int64 // nil: no such battle
		var v int64
		cached := false
		if lock != nil {
			// Round trip 1: begin, and read and lock the battle.
			batch := &pgx.Batch{}
			batch.Queue("BEGIN ISOLATION LEVEL SERIALIZABLE")
			batch.Queue(lock.sql, lock.args...)
			br := conn.SendBatch(ctx, batch)
			_, err = br.Exec()
			if err == nil {
				bt, err = scanBattle(br.QueryRow(), &v)
			}
			if cerr := br.Close(); err == nil && cerr != nil {
				err = cerr
			}
		} else if bt, v, cached = s.battles.get(id); !cached {
			// Round trip 1: read the battle, outside any transaction: the
			// step's transaction checks that it is still at this version.
			bt, err = scanBattle(conn.QueryRow(ctx, `SELECT `+battleColumns+`, `+battleVersion+`
				FROM economy.battles WHERE id = $1`, id), &v)
		}
		var memo string
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			err = noRow
		case err != nil:
			return nil, nil, false, fmt.Errorf("economy %s: read battle: %w", kind, err)
		default:
			version = &v
			memo, err = step(now, &bt)
		}
		if err != nil && !isRefusal(err) {
			return nil, nil, false, err
		}
		refused := err

		// The last round trip: write the step (or store the refusal) and
		// commit.
		var status int64
		status, stored, err = s.writeStep(ctx, conn, lock != nil, kind, op, user, now, id, version, bt, memo, refused)
		var pgErr *pgconn.PgError
		switch {
		case errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "transactions_op_id_key":
			return nil, nil, true, nil // the operation row is there: applied before
		case sqlState(err) == "CS002":
			return nil, nil, false, ErrOverflow
		case err != nil:
			s.battles.drop(id) // a conflict: read it again
			return nil, nil, false, fmt.Errorf("economy %s: %w", kind, err)
		}
		switch {
		case status == stepStale && cached:
			s.battles.drop(id) // this node was behind: read it
			continue
		case status == stepStale && lock != nil:
			return nil, nil, false, fmt.Errorf("economy %s: battle %d changed under its lock", kind, id)
		case status == stepStale:
			return nil, nil, false, errBattleMoved
		case status == stepReplayed:
			return nil, nil, true, nil
		case refused != nil:
			if version != nil && !cached && lock == nil {
				s.battles.put(bt, *version)
			}
			return stored, nil, false, nil
		}
		s.battles.put(bt, status)
		return stored, &bt, false, nil
	}
}

// writeStep sends bt, computed on the battle at version (or the refusal
// refused), to economy.battle_step_at and commits, beginning the
// transaction unless inTx. It returns the function's outcome and the
// operation's result.
func (s *Service) writeStep(ctx context.Context, conn *pgxpool.Conn, inTx bool, kind string, op Op, user int64, now time.Time,
	id int64, version *int64, bt Battle, memo string, refused error) (status int64, stored []byte, err error) {
	w := battleWrite{companions: []int64{}, xp: []int64{}, mood: []int32{}}
	var winnerID *int64
	var prize *string
	if refused != nil {
		se, _ := encodeRefusal(refused)
		stored, _ = json.Marshal(se)
	} else {
		if stored, err = json.Marshal(bt); err != nil {
			return 0, nil, fmt.Errorf("economy %s: encode result: %w", kind, err)
		}
		w = s.battleWrites(bt)
		if bt.Winner != 0 {
			winnerID = &bt.Winner
		}
		if bt.Prize != "" {
			prize = &bt.Prize
		}
	}
	batch := &pgx.Batch{}
	if !inTx {
		batch.Queue("BEGIN ISOLATION LEVEL SERIALIZABLE")
	}
	batch.Queue(`SELECT economy.battle_step_at($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
		version, refused != nil, string(op), user, kind, memo, stored, now,
		id, bt.State, bt.Deadline, w.escrow, w.settled,
		winnerID, bt.Fee, bt.Payout, w.companions, w.xp, w.mood, prize)
	batch.Queue("COMMIT")
	br := conn.SendBatch(ctx, batch)
	if !inTx {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&status)
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return status, stored, err
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
