package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Achievements returns the catalogue of achievements, in display order.
func (s *Service) Achievements() []Achievement { return achievementCatalog(s.cat.Rarities) }

// Earned is the outcome of CheckAchievements: the achievements newly
// awarded (their rewards paid), in catalogue order.
type Earned struct {
	New    []Achievement `json:"new"`
	Reward int64         `json:"reward"`
	Wallet int64         `json:"wallet,omitempty"`
}

// CheckAchievements awards user every achievement their progress has
// reached and they do not have, with its reward through the ledger, as
// operation op, and clears what the achievement outbox held for them. A
// replay of op returns the first result. Each achievement is a row keyed by
// (user, achievement) written with its reward in one transaction:
// duplicate deliveries and concurrent checks award it once.
func (s *Service) CheckAchievements(ctx context.Context, op Op, user int64) (Earned, error) {
	r, _, err := s.award(ctx, op, user, true)
	return r, err
}

// SettleAchievements is CheckAchievements for what user's changes queued
// in the achievement outbox (see migrations/011_achievement_outbox.sql):
// it checks only when something is queued for user, and writes an
// operation only when it awards something. A command calls it right after
// its action, as op "achievements:" plus its own, so a replay announces the
// same; SweepAchievements settles whatever a crash left behind.
func (s *Service) SettleAchievements(ctx context.Context, op Op, user int64) (Earned, error) {
	r, _, err := s.award(ctx, op, user, false)
	return r, err
}

// award runs one award of user as op in one transaction: it takes user's
// queued outbox rows, and when there were some (or always), awards what
// the progress reached. The rows, the achievements, their reward and the
// operation commit together, or none of them does. replayed reports that
// op had been applied before.
//
// It runs at REPEATABLE READ, not SERIALIZABLE: every action's trigger
// writes the outbox that every award reads, and under SERIALIZABLE those
// predicate locks failed most awards (1,500 retries a node in 20 s at 600
// interactions/s). Nothing here needs them: the reward is posted under the
// account's row lock, an achievement is one row per player (a concurrent
// award of it fails to serialize and retries), and the snapshot sees every
// action whose outbox row it takes (the row committed with its action), so
// an award never misses what it consumes; a row queued after the snapshot
// stays for the next one.
func (s *Service) award(ctx context.Context, op Op, user int64, always bool) (r Earned, replayed bool, err error) {
	if !op.valid() {
		return Earned{}, false, ErrBadOperation
	}
	if user <= 0 {
		return Earned{}, false, ErrBadUser
	}
	err = s.retry(ctx, "achievements", func(ctx context.Context) error {
		r, replayed = Earned{}, false
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		if err != nil {
			return fmt.Errorf("achievements: begin: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		var stored []byte
		err = tx.QueryRow(ctx, `SELECT result FROM economy.transactions WHERE op_id = $1`, string(op)).Scan(&stored)
		if err == nil {
			replayed = true
			return decodeResult(stored, &r)
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("achievements: %w", err)
		}
		t := &txn{Tx: tx, s: s, user: user, now: s.now(), legs: map[int64]int64{}}
		if !always {
			var queued bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.achievement_outbox WHERE user_id = $1)`,
				user).Scan(&queued); err != nil {
				return fmt.Errorf("achievements: %w", err)
			}
			if !queued {
				return tx.Commit(ctx)
			}
		}
		// The account first, as every action locks it: then the outbox.
		if _, err := t.lockAccount(ctx, user); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM economy.achievement_outbox WHERE user_id = $1`, user); err != nil {
			return fmt.Errorf("achievements: take outbox: %w", err)
		}
		// A reward past the wallet's bound awards nothing now (the next
		// action checks again); the taken rows go all the same, or the
		// player would block the sweep.
		sp, err := tx.Begin(ctx)
		if err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		t.Tx = sp
		if err := s.awardReached(ctx, t, user, &r); errors.Is(err, ErrOverflow) {
			if err := sp.Rollback(ctx); err != nil {
				return fmt.Errorf("achievements: %w", err)
			}
			r = Earned{}
			return tx.Commit(ctx)
		} else if err != nil {
			return err
		}
		if err := sp.Commit(ctx); err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		t.Tx = tx
		if len(r.New) == 0 {
			return tx.Commit(ctx)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("achievements: encode result: %w", err)
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, memo, result)
			VALUES ($1, $2, 'achievements', $3, $4) ON CONFLICT (op_id) DO NOTHING RETURNING id`,
			string(op), user, fmt.Sprintf("%d achievement(s)", len(r.New)), b).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// The same operation committed meanwhile: retry, and replay it.
			return &pgconn.PgError{Code: "40001", Message: "achievements: operation committed concurrently"}
		}
		if err != nil {
			return fmt.Errorf("achievements: store operation: %w", err)
		}
		if err := t.post(ctx, id); err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		// The award's own rows queued user again: this check saw the reward.
		if _, err := tx.Exec(ctx, `DELETE FROM economy.achievement_outbox WHERE user_id = $1 AND tx_id = $2`, user, id); err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("achievements: commit: %w", err)
		}
		return nil
	})
	if err != nil {
		return Earned{}, false, err
	}
	return r, replayed, nil
}

// awardReached awards user, in t, every achievement their progress
// reaches, into r. A reward can raise the net worth past another goal, so
// it looks again until nothing more is reached.
func (s *Service) awardReached(ctx context.Context, t *txn, user int64, r *Earned) error {
	for round := 0; round < 4; round++ {
		p, have, err := s.progress(ctx, t, user)
		if err != nil {
			return err
		}
		reward := int64(0)
		for _, a := range newlyEarned(s.Achievements(), p, have) {
			tag, err := t.Exec(ctx, `INSERT INTO economy.achievements (user_id, key, earned_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, user, a.Key, t.now)
			if err != nil {
				return fmt.Errorf("achievements: %w", err)
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			r.New = append(r.New, a)
			reward += a.Reward
		}
		if reward == 0 {
			return nil
		}
		w, err := t.credit(ctx, user, Mint, reward)
		if err != nil {
			return err
		}
		r.Reward += reward
		r.Wallet = w
	}
	return nil
}

// SweepAchievements settles up to limit players whose outbox rows have
// waited at least grace: the counterparties of an action (a seller, a
// payee, the other side of a trade) and players whose node stopped between
// the action and its award. It reports how many players it settled and
// how many achievements it awarded. Any number of nodes may sweep at once:
// a player's award is one transaction, and the operation
// "achievements_outbox:<user>:<oldest row>" is applied once.
func (s *Service) SweepAchievements(ctx context.Context, grace time.Duration, limit int) (players, awarded int, err error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, min(tx_id) FROM economy.achievement_outbox
		WHERE queued_at <= now() - make_interval(secs => $1) GROUP BY user_id ORDER BY min(queued_at) LIMIT $2`,
		grace.Seconds(), limit)
	if err != nil {
		return 0, 0, fmt.Errorf("achievements sweep: %w", err)
	}
	type queued struct{ User, Tx int64 }
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[queued])
	if err != nil {
		return 0, 0, fmt.Errorf("achievements sweep: %w", err)
	}
	for _, q := range list {
		e, replayed, err := s.award(ctx, Op(fmt.Sprintf("achievements_outbox:%d:%d", q.User, q.Tx)), q.User, false)
		if err != nil {
			return players, awarded, err
		}
		players++
		if !replayed {
			awarded += len(e.New)
		}
	}
	return players, awarded, nil
}

// RunAchievementSweeper sweeps the achievement outbox every interval,
// settling rows older than grace, until ctx ends. Errors go to report and
// the sweep goes on.
func (s *Service) RunAchievementSweeper(ctx context.Context, interval, grace time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, _, err := s.SweepAchievements(ctx, grace, 100)
			if err != nil && ctx.Err() == nil && report != nil {
				report(err)
			}
			if err != nil || n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// querier is a transaction or a pool.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// progress reads user's progress on every metric and the achievements
// they have.
func (s *Service) progress(ctx context.Context, q querier, user int64) (Progress, map[string]bool, error) {
	p := Progress{Values: map[string]int64{}, Missing: map[string]int64{}}
	var streak, worth, shifts, sales, purchases, trades, vaulted, companions, bestXP, mythicBred, wins int64
	var mythicModels []string
	for _, m := range s.cat.Companions.Models {
		if m.Rarity == "mythic" {
			mythicModels = append(mythicModels, m.Key)
		}
	}
	err := q.QueryRow(ctx, `SELECT
		coalesce((SELECT streak FROM economy.accounts WHERE user_id = $1), 0),
		coalesce((SELECT least(wallet::numeric + bank, 9223372036854775807)::bigint FROM economy.accounts WHERE user_id = $1), 0),
		(SELECT count(*) FROM economy.transactions WHERE user_id = $1 AND kind = 'work' AND NOT result ? 'err'),
		(SELECT count(*) FROM economy.market_sales WHERE seller_id = $1),
		(SELECT count(*) FROM economy.market_sales WHERE buyer_id = $1),
		(SELECT count(*) FROM economy.trades WHERE state = 'done' AND (a_id = $1 OR b_id = $1)),
		(SELECT count(*) FROM economy.vault WHERE owner_id = $1),
		(SELECT count(*) FROM economy.companions WHERE owner_id = $1),
		coalesce((SELECT max(xp) FROM economy.companions WHERE owner_id = $1), 0),
		(SELECT count(*) FROM economy.companions WHERE owner_id = $1 AND generation > 1 AND model = ANY($2)),
		(SELECT count(*) FROM economy.battle_wins WHERE winner = $1)`, user, mythicModels).
		Scan(&streak, &worth, &shifts, &sales, &purchases, &trades, &vaulted, &companions, &bestXP, &mythicBred, &wins)
	if err != nil {
		return Progress{}, nil, fmt.Errorf("achievements: progress: %w", err)
	}
	p.Values[MetricStreak], p.Values[MetricNetWorth], p.Values[MetricShifts] = streak, worth, shifts
	p.Values[MetricSales], p.Values[MetricPurchases], p.Values[MetricTrades], p.Values[MetricVaulted] = sales, purchases, trades, vaulted
	p.Values[MetricCompanions], p.Values[MetricMythicBred], p.Values[MetricBattleWins] = companions, mythicBred, wins
	if companions > 0 {
		p.Values[MetricCompLevel] = int64(levelFor(bestXP, s.cat.Companions.MaxLevel))
	}

	found := map[string]int64{}
	rows, err := q.Query(ctx, `SELECT item_key, found FROM economy.collection WHERE user_id = $1`, user)
	if err != nil {
		return Progress{}, nil, fmt.Errorf("achievements: progress: %w", err)
	}
	if err := collectStrings(rows, found); err != nil {
		return Progress{}, nil, err
	}
	for _, r := range s.cat.Rarities {
		p.Missing[r.Key] = 0
	}
	mythic, _ := s.cat.RarityRank("mythic")
	for _, it := range s.cat.Items {
		if it.Type != TypeCollectible {
			continue
		}
		n, ok := found[it.Key]
		if !ok {
			p.Missing[it.Rarity]++
			continue
		}
		p.Values[MetricDistinct]++
		p.Values[MetricFinds] += n
		if rank, _ := s.cat.RarityRank(it.Rarity); rank == mythic {
			p.Values[MetricMythic]++
		}
	}
	have := map[string]bool{}
	rows, err = q.Query(ctx, `SELECT key FROM economy.achievements WHERE user_id = $1`, user)
	if err != nil {
		return Progress{}, nil, fmt.Errorf("achievements: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Progress{}, nil, fmt.Errorf("achievements: %w", err)
	}
	for _, k := range keys {
		have[k] = true
	}
	return p, have, nil
}

func collectStrings(rows pgx.Rows, m map[string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		m[k] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("achievements: %w", err)
	}
	return nil
}

// Title returns the title user's achievements give them (see
// Achievement.Title), or "" when none does.
func (s *Service) Title(ctx context.Context, user int64) (string, error) {
	if user <= 0 {
		return "", ErrBadUser
	}
	rows, err := s.pool.Query(ctx, `SELECT key FROM economy.achievements WHERE user_id = $1`, user)
	if err != nil {
		return "", fmt.Errorf("economy title: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", fmt.Errorf("economy title: %w", err)
	}
	have := make(map[string]bool, len(keys))
	for _, k := range keys {
		have[k] = true
	}
	return bestTitle(s.Achievements(), have), nil
}

// AchievementStatus is one achievement as a player's list shows it.
type AchievementStatus struct {
	Achievement
	Earned   *time.Time // nil while not earned
	Progress string     // toward the goal, such as "3 / 7"
}

// AchievementList returns every achievement with user's status: earned
// (and when) or the progress toward it.
func (s *Service) AchievementList(ctx context.Context, user int64) ([]AchievementStatus, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var out []AchievementStatus
	err := s.read(ctx, "achievement_list", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		p, _, err := s.progress(ctx, tx, user)
		if err != nil {
			return err
		}
		earned := map[string]time.Time{}
		rows, err := tx.Query(ctx, `SELECT key, earned_at FROM economy.achievements WHERE user_id = $1`, user)
		if err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		for rows.Next() {
			var k string
			var at time.Time
			if err := rows.Scan(&k, &at); err != nil {
				return fmt.Errorf("achievements: %w", err)
			}
			earned[k] = at
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("achievements: %w", err)
		}
		for _, a := range s.Achievements() {
			st := AchievementStatus{Achievement: a, Progress: p.Describe(a)}
			if at, ok := earned[a.Key]; ok {
				st.Earned = &at
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// BackfillAchievements awards every player what their history already
// earned, once per catalogue version: the version is recorded when the
// backfill completes, and a node that finds it recorded does nothing.
// Awards are idempotent, so an interrupted backfill is simply run again.
// It reports how many achievements it awarded.
func (s *Service) BackfillAchievements(ctx context.Context) (int, error) {
	var done bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.achievement_backfills WHERE version = $1)`,
		AchievementsVersion).Scan(&done); err != nil {
		return 0, fmt.Errorf("achievements backfill: %w", err)
	}
	if done {
		return 0, nil
	}
	run := s.int64n(1 << 62) // a fresh operation per run: awards themselves are idempotent
	awarded := 0
	after := int64(0)
	for {
		rows, err := s.pool.Query(ctx, `SELECT user_id FROM economy.accounts WHERE user_id > $1 ORDER BY user_id LIMIT 500`, after)
		if err != nil {
			return awarded, fmt.Errorf("achievements backfill: %w", err)
		}
		users, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return awarded, fmt.Errorf("achievements backfill: %w", err)
		}
		if len(users) == 0 {
			break
		}
		for _, u := range users {
			e, err := s.CheckAchievements(ctx, Op(fmt.Sprintf("achievements_backfill:%d:%d:%d", AchievementsVersion, run, u)), u)
			if err != nil {
				return awarded, err
			}
			awarded += len(e.New)
		}
		after = users[len(users)-1]
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO economy.achievement_backfills (version) VALUES ($1) ON CONFLICT DO NOTHING`,
		AchievementsVersion); err != nil {
		return awarded, fmt.Errorf("achievements backfill: %w", err)
	}
	return awarded, nil
}
