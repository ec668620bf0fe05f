package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// BattleEscrow is the system account that holds battle wagers between the
// accept and the settlement; like Mint and Sink it exists only as legs.
// Audit checks that it holds exactly the escrow of the open battles.
const BattleEscrow int64 = -7

// Battle states.
const (
	BattleChallenged = "challenged"
	BattleActive     = "active"
	BattleDeclined   = "declined"
	BattleExpired    = "expired"
	BattleCancelled  = "cancelled"
	BattleDone       = "done"
)

// Battle is a challenge or battle as stored.
type Battle struct {
	ID         int64        `json:"id"`
	Challenger int64        `json:"challenger"`
	Challenged int64        `json:"challenged"`
	Wager      int64        `json:"wager"`
	State      string       `json:"state"`
	Deadline   time.Time    `json:"deadline"`
	Fighters   [2]Fighter   `json:"fighters"` // the challenged side is empty until accepted
	Play       *BattleState `json:"play,omitempty"`
	Note       string       `json:"note,omitempty"` // why a battle was cancelled
	Winner     int64        `json:"winner,omitempty"`
	Payout     int64        `json:"payout,omitempty"` // credits to the winner
	Fee        int64        `json:"fee,omitempty"`
	XP         [2]int64     `json:"xp,omitempty"`    // gained by each side's companion
	Prize      string       `json:"prize,omitempty"` // a cosmetic the winner won
	// Notify is where the battle's message is, as the challenge gave it;
	// not part of stored results.
	Notify string `json:"-"`
}

// Player returns the user on side i.
func (b Battle) Player(side int) int64 {
	if side == 0 {
		return b.Challenger
	}
	return b.Challenged
}

// battleDoc is what the battle column holds.
type battleDoc struct {
	Fighters [2]Fighter   `json:"fighters"`
	Play     *BattleState `json:"play,omitempty"`
	Note     string       `json:"note,omitempty"`
	Payout   int64        `json:"payout,omitempty"`
	XP       [2]int64     `json:"xp,omitempty"`
	Prize    string       `json:"prize,omitempty"`
}

const battleColumns = `id, challenger, challenged, wager, state, deadline, battle, coalesce(winner, 0), coalesce(fee, 0), notify`

// battleVersion follows battleColumns to read the row's version (see
// battle_cache.go).
const battleVersion = `xmin::text::bigint`

// scanBattle scans a row of battleColumns, and then of extra when given.
func scanBattle(row pgx.Row, extra ...any) (Battle, error) {
	var b Battle
	var doc []byte
	dest := append([]any{&b.ID, &b.Challenger, &b.Challenged, &b.Wager, &b.State, &b.Deadline, &doc, &b.Winner, &b.Fee, &b.Notify}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Battle{}, err
	}
	var d battleDoc
	if len(doc) > 0 {
		if err := json.Unmarshal(doc, &d); err != nil {
			return Battle{}, fmt.Errorf("battle %d: %w", b.ID, err)
		}
	}
	b.Fighters, b.Play, b.Note, b.Payout, b.XP, b.Prize = d.Fighters, d.Play, d.Note, d.Payout, d.XP, d.Prize
	return b, nil
}

// saveBattle writes b back and returns the row's new version.
func (t *txn) saveBattle(ctx context.Context, b Battle, escrow int64, settled bool) (version int64, err error) {
	sql, args, err := t.battleUpdate(b, escrow, settled)
	if err != nil {
		return 0, err
	}
	if err := t.QueryRow(ctx, sql+` RETURNING `+battleVersion, args...).Scan(&version); err != nil {
		return 0, fmt.Errorf("save battle: %w", err)
	}
	return version, nil
}

// battleUpdate is the statement that writes b back; a final state
// (settled) also leaves the open battles, in the same statement.
func (t *txn) battleUpdate(b Battle, escrow int64, settled bool) (string, []any, error) {
	doc, err := json.Marshal(battleDoc{Fighters: b.Fighters, Play: b.Play, Note: b.Note, Payout: b.Payout, XP: b.XP, Prize: b.Prize})
	if err != nil {
		return "", nil, fmt.Errorf("save battle: %w", err)
	}
	var winner, fee *int64
	var at *time.Time
	if settled {
		winner, fee, at = &b.Winner, &b.Fee, &t.now
		if b.Winner == 0 {
			winner = nil
		}
	}
	return `WITH closed AS (DELETE FROM economy.open_battles WHERE battle_id = $1 AND $9::boolean)
		UPDATE economy.battles SET state = $2, deadline = $3, battle = $4, escrow = $5, winner = $6, fee = $7,
		settled_at = $8 WHERE id = $1`, []any{b.ID, b.State, b.Deadline, doc, escrow, winner, fee, at, settled}, nil
}

// lockBattle locks battle id for this transaction.
func (t *txn) lockBattle(ctx context.Context, id int64) (Battle, error) {
	b, err := scanBattle(t.QueryRow(ctx, `SELECT `+battleColumns+` FROM economy.battles WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Battle{}, ErrUnknownBattle
	}
	if err != nil {
		return Battle{}, fmt.Errorf("battle: %w", err)
	}
	return b, nil
}

// fighter is c as it enters a battle.
func (s *Service) fighter(c Companion) Fighter {
	m, _ := s.cat.Model(c.Model)
	f := Fighter{Companion: c.ID, Owner: c.Owner, Name: c.Name, Model: c.Model, Level: c.Level, Stats: c.Stats,
		Skin: c.Skin, Chassis: c.Chassis}
	if m != nil {
		f.Moves = fighterMoves(s.cat.Companions.Basic, m, c.Skills)
	} else {
		f.Moves = []BattleMove{s.cat.Companions.Basic}
	}
	return f
}

// readyFighter checks that c may enter a battle.
func (s *Service) readyFighter(c Companion) error {
	if err := idle(c); err != nil {
		return err
	}
	if need := max(1, s.cat.Companions.Battle.Charge); c.Charge < need {
		return ErrNoCharge.Withf("%s has %d%% charge and a battle takes %d%%; recharge it with a Power Cell.", c.Name, c.Charge, need)
	}
	return nil
}

// pickFighter locks user's companion ref, or when ref is "" the
// highest-level one ready to battle.
func (t *txn) pickFighter(ctx context.Context, user int64, ref string) (Companion, error) {
	if ref != "" {
		c, err := t.lockCompanion(ctx, user, ref)
		if err != nil {
			return Companion{}, err
		}
		return c, t.s.readyFighter(c)
	}
	rows, err := t.Query(ctx, `SELECT `+companionColumns+` FROM economy.companions
		WHERE owner_id = $1 AND stasis_since IS NULL AND battle_id IS NULL ORDER BY xp DESC, id FOR UPDATE`, user)
	if err != nil {
		return Companion{}, fmt.Errorf("pick fighter: %w", err)
	}
	var best *Companion
	for rows.Next() {
		c, err := scanCompanion(rows)
		if err != nil {
			rows.Close()
			return Companion{}, fmt.Errorf("pick fighter: %w", err)
		}
		t.s.fresh(&c, t.now)
		if best == nil && t.s.readyFighter(c) == nil {
			best = &c
		}
	}
	if err := rows.Err(); err != nil {
		return Companion{}, fmt.Errorf("pick fighter: %w", err)
	}
	if best == nil {
		return Companion{}, ErrNoFighter
	}
	return *best, nil
}

// ChallengeRequest is a /battle challenge.
type ChallengeRequest struct {
	Op            Op
	Challenger    int64
	Challenged    int64
	ChallengedBot bool
	Wager         int64
	Companion     string // the challenger's companion; "" picks the best ready one
	// Notify says where the battle's message is (at most 500 bytes,
	// opaque), so that SweepBattles' caller can update it.
	Notify string
}

// Challenge opens a challenge that the challenged may accept until the
// challenge deadline. The challenger's companion is held for it; nothing
// is paid until the accept, but the challenger must have the wager now.
func (s *Service) Challenge(ctx context.Context, req ChallengeRequest) (Battle, error) {
	if err := s.companionsOn(); err != nil {
		return Battle{}, err
	}
	rule := s.cat.Companions.Battle
	switch {
	case req.Challenger <= 0 || req.Challenged <= 0:
		return Battle{}, ErrBadUser
	case req.Challenger == req.Challenged:
		return Battle{}, ErrSelfBattle
	case req.ChallengedBot:
		return Battle{}, ErrBotBattle
	case len(req.Notify) > 500:
		return Battle{}, ErrBadOperation
	case req.Wager < 0 || req.Wager > rule.MaxWager:
		return Battle{}, ErrBadWager.Withf("The wager must be between 0 and %d credits.", rule.MaxWager)
	}
	var b Battle
	_, err := s.mutate(ctx, "battle_challenge", req.Op, req.Challenger, &b, func(ctx context.Context, t *txn) (any, error) {
		a, err := t.lockAccount(ctx, req.Challenger)
		if err != nil {
			return nil, err
		}
		if a.Wallet < req.Wager {
			return nil, ErrInsufficientFunds.Withf("You need %d credits in your wallet to wager them.", req.Wager)
		}
		c, err := t.pickFighter(ctx, req.Challenger, req.Companion)
		if err != nil {
			return nil, err
		}
		nb := Battle{Challenger: req.Challenger, Challenged: req.Challenged, Wager: req.Wager, State: BattleChallenged,
			Deadline: t.now.Add(time.Duration(rule.ChallengeSeconds) * time.Second)}
		nb.Fighters[0] = s.fighter(c)
		doc, err := json.Marshal(battleDoc{Fighters: nb.Fighters})
		if err != nil {
			return nil, err
		}
		if err := t.QueryRow(ctx, `INSERT INTO economy.battles (challenger, challenged, challenger_companion, wager, state, deadline, battle, created_at, notify)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, req.Challenger, req.Challenged, c.ID, req.Wager, nb.State, nb.Deadline, doc, t.now, req.Notify).
			Scan(&nb.ID); err != nil {
			return nil, fmt.Errorf("challenge: %w", err)
		}
		if _, err := t.Exec(ctx, `INSERT INTO economy.open_battles (battle_id) VALUES ($1)`, nb.ID); err != nil {
			return nil, fmt.Errorf("challenge: %w", err)
		}
		c.BattleID = nb.ID
		if err := t.saveCompanion(ctx, c); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("challenge %d", nb.ID)
		return nb, nil
	})
	return b, err
}

// AcceptBattle accepts challenge id as presser, who must be the
// challenged, before the deadline. Both wagers go into escrow in this one
// transaction: if the challenged cannot pay it is refused and nobody pays;
// if the challenger no longer can, the challenge is cancelled and nobody
// pays. Both companions pay the battle's charge. companion is the
// challenged's fighter (a name or #number of theirs); "" picks their best
// ready one.
func (s *Service) AcceptBattle(ctx context.Context, op Op, id, presser int64, companion string) (Battle, error) {
	rule := s.cat.Companions.Battle
	var b Battle
	var started struct { // the battle as the last attempt started it
		b       Battle
		version int64
	}
	replayed, err := s.mutate(ctx, "battle_accept", op, presser, &b, func(ctx context.Context, t *txn) (any, error) {
		started.b = Battle{}
		bt, err := t.lockBattle(ctx, id)
		if err != nil {
			return nil, err
		}
		switch {
		case presser == bt.Challenger:
			return nil, ErrNotChallenged.With("You cannot accept your own challenge.")
		case presser != bt.Challenged:
			return nil, ErrNotChallenged
		case bt.State != BattleChallenged || !t.now.Before(bt.Deadline):
			return nil, ErrChallengeClosed
		}
		// Lock both accounts in ID order, so two battles of the same
		// players cannot deadlock.
		lo, hi := bt.Challenger, bt.Challenged
		if lo > hi {
			lo, hi = hi, lo
		}
		accts := map[int64]Account{}
		for _, u := range []int64{lo, hi} {
			if accts[u], err = t.lockAccount(ctx, u); err != nil {
				return nil, err
			}
		}
		if accts[bt.Challenged].Wallet < bt.Wager {
			return nil, ErrInsufficientFunds.Withf("You need %d credits in your wallet to accept this wager.", bt.Wager)
		}
		mine, err := t.pickFighter(ctx, bt.Challenged, companion)
		if err != nil {
			return nil, err
		}
		theirs, err := t.lockCompanion(ctx, bt.Challenger, fmt.Sprintf("#%d", bt.Fighters[0].Companion))
		if err != nil {
			return nil, err
		}
		cancel := ""
		switch {
		case accts[bt.Challenger].Wallet < bt.Wager:
			cancel = "The challenger can no longer cover the wager; nobody paid."
		case theirs.Stasis || theirs.Charge < max(1, rule.Charge):
			cancel = "The challenger's companion is no longer ready; nobody paid."
		}
		if cancel != "" {
			bt.State, bt.Note = BattleCancelled, cancel
			theirs.BattleID = 0
			if err := t.saveCompanion(ctx, theirs); err != nil {
				return nil, err
			}
			if _, err := t.saveBattle(ctx, bt, 0, true); err != nil {
				return nil, err
			}
			t.memo = fmt.Sprintf("battle %d cancelled", bt.ID)
			return bt, nil
		}
		if bt.Wager > 0 {
			for _, u := range []int64{bt.Challenger, bt.Challenged} {
				if _, err := t.credit(ctx, u, BattleEscrow, -bt.Wager); err != nil {
					return nil, err
				}
			}
		}
		for _, c := range []*Companion{&theirs, &mine} {
			c.Charge -= rule.Charge
			c.BattleID = bt.ID
			if err := t.saveCompanion(ctx, *c); err != nil {
				return nil, err
			}
		}
		bt.Fighters = [2]Fighter{s.fighter(theirs), s.fighter(mine)}
		st := startBattle(seedOf(op)^uint64(bt.ID), bt.Fighters)
		bt.Play = &st
		bt.State = BattleActive
		bt.Deadline = t.now.Add(time.Duration(rule.MoveSeconds) * time.Second)
		if _, err := t.Exec(ctx, `UPDATE economy.battles SET challenged_companion = $2 WHERE id = $1`, bt.ID, mine.ID); err != nil {
			return nil, fmt.Errorf("accept: %w", err)
		}
		if started.version, err = t.saveBattle(ctx, bt, 2*bt.Wager, false); err != nil {
			return nil, err
		}
		started.b = bt
		t.memo = fmt.Sprintf("battle %d escrow", bt.ID)
		return bt, nil
	})
	if err == nil && !replayed && started.b.ID != 0 {
		// This node serves the battle's first move in one round trip.
		s.battles.put(started.b, started.version)
	}
	return b, err
}

// DeclineBattle closes challenge id unplayed: the challenged declines, or
// the challenger withdraws it.
func (s *Service) DeclineBattle(ctx context.Context, op Op, id, presser int64) (Battle, error) {
	var b Battle
	_, err := s.mutate(ctx, "battle_decline", op, presser, &b, func(ctx context.Context, t *txn) (any, error) {
		bt, err := t.lockBattle(ctx, id)
		if err != nil {
			return nil, err
		}
		if presser != bt.Challenged && presser != bt.Challenger {
			return nil, ErrNotYourBattle
		}
		if bt.State != BattleChallenged || !t.now.Before(bt.Deadline) {
			return nil, ErrChallengeClosed
		}
		if err := t.freeCompanion(ctx, bt.Fighters[0].Companion, bt.ID); err != nil {
			return nil, err
		}
		bt.State = BattleDeclined
		if presser == bt.Challenger {
			bt.Note = "Withdrawn by the challenger."
		}
		if _, err := t.saveBattle(ctx, bt, 0, true); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("battle %d declined", bt.ID)
		return bt, nil
	})
	return b, err
}

// freeCompanion releases companion id from battle (when it still is in it:
// a companion released meanwhile is gone).
func (t *txn) freeCompanion(ctx context.Context, id, battle int64) error {
	if _, err := t.Exec(ctx, `UPDATE economy.companions SET battle_id = NULL WHERE id = $1 AND battle_id = $2`, id, battle); err != nil {
		return fmt.Errorf("free companion: %w", err)
	}
	return nil
}

// MoveBattle makes move (an index into the presser's companion's moves)
// in battle id at turn (from the button, so a stale button is refused).
func (s *Service) MoveBattle(ctx context.Context, op Op, id, presser int64, turn, move int) (Battle, error) {
	// No row lock: the step is computed on the battle as this node last
	// saw it and applied only while the row is still at that version;
	// under SERIALIZABLE a concurrent step of this battle makes this one's
	// write fail (first updater wins), and the retry reads the new state.
	b, _, err := s.stepBattle(ctx, "battle_move", op, presser, id, ErrUnknownBattle, nil,
		func(now time.Time, bt *Battle) (string, error) {
			switch {
			case presser != bt.Challenger && presser != bt.Challenged:
				return "", ErrNotYourBattle
			case bt.State == BattleChallenged:
				return "", ErrChallengeClosed.With("That battle has not started.")
			case bt.State != BattleActive || bt.Play == nil:
				return "", ErrBattleOver
			case turn != bt.Play.Turn:
				return "", ErrStaleTurn
			case presser != bt.Player(bt.Play.Side):
				return "", ErrNotYourTurn
			case !now.Before(bt.Deadline):
				return "", ErrStaleTurn.With("Time ran out for that turn; the game moves for you.")
			}
			return fmt.Sprintf("battle %d turn %d", bt.ID, turn), s.advanceBattle(bt, move, false, now)
		})
	return b, err
}

// GetBattle returns battle id. The node keeps it for the battle's next
// move.
func (s *Service) GetBattle(ctx context.Context, id int64) (Battle, error) {
	var b Battle
	var version int64
	err := s.read(ctx, "battle", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		b, err = scanBattle(tx.QueryRow(ctx, `SELECT `+battleColumns+`, `+battleVersion+` FROM economy.battles WHERE id = $1`, id), &version)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrUnknownBattle
		}
		return err
	})
	if err == nil {
		s.battles.put(b, version)
	}
	return b, err
}

// errSkipped aborts a sweep transaction whose battle another node holds or
// already moved on; nothing is stored, so a later sweep tries again.
var errSkipped = errors.New("economy: battle skipped")

// SweepBattles resolves up to limit battles past their deadline and
// returns them as resolved (with Notify, so the caller can update their
// messages): an open
// challenge expires, and the side to move in an active battle gets its
// automatic move (its second miss forfeits, and the battle is settled).
// Every node runs it; FOR UPDATE SKIP LOCKED leaves a battle another
// transaction holds to that one, and each resolution is one operation keyed
// by the battle and its deadline, so two nodes never resolve one deadline
// twice. It returns how many battles it resolved.
func (s *Service) SweepBattles(ctx context.Context, limit int) ([]Battle, error) {
	type due struct {
		id, user int64
		deadline time.Time
		notify   string
	}
	var list []due
	rows, err := s.pool.Query(ctx, `SELECT b.id, b.challenger, b.deadline, b.notify FROM economy.open_battles o
		JOIN economy.battles b ON b.id = o.battle_id
		WHERE b.state IN ('challenged', 'active') AND b.deadline <= $1 ORDER BY b.deadline LIMIT $2`, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("sweep battles: %w", err)
	}
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.user, &d.deadline, &d.notify); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sweep battles: %w", err)
		}
		list = append(list, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sweep battles: %w", err)
	}
	var done []Battle
	var errs []error
	for _, d := range list {
		op := Op(fmt.Sprintf("battle-sweep:%d:%d", d.id, d.deadline.UnixMicro()))
		res, replayed, err := s.stepBattle(ctx, "battle_sweep", op, d.user, d.id, errSkipped, &battleLock{
			sql: `SELECT ` + battleColumns + `, ` + battleVersion + ` FROM economy.battles
				WHERE id = $1 AND deadline = $2 AND deadline <= $3 AND state IN ('challenged', 'active') FOR UPDATE SKIP LOCKED`,
			args: []any{d.id, d.deadline, s.now()}},
			func(now time.Time, bt *Battle) (string, error) {
				if bt.State == BattleChallenged {
					bt.State = BattleExpired
					return fmt.Sprintf("battle %d expired", bt.ID), nil
				}
				return fmt.Sprintf("battle %d auto move", bt.ID), s.advanceBattle(bt, 0, true, now)
			})
		switch {
		case errors.Is(err, errSkipped):
		case err != nil:
			errs = append(errs, err)
		case !replayed:
			res.Notify = d.notify
			done = append(done, res)
		}
	}
	return done, errors.Join(errs...)
}

// RunBattleSweeper sweeps due battles every interval until ctx is done;
// onErr, when set, hears each failed sweep (the next one retries), and
// onResolved each battle a sweep resolved (on the sweeper's goroutine).
func (s *Service) RunBattleSweeper(ctx context.Context, interval time.Duration, onErr func(error), onResolved func(Battle)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for {
			done, err := s.SweepBattles(ctx, 100)
			if err != nil && ctx.Err() == nil && onErr != nil {
				onErr(err)
			}
			for _, b := range done {
				if onResolved != nil {
					onResolved(b)
				}
			}
			if len(done) < 100 || err != nil {
				break
			}
		}
	}
}
