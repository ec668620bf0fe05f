package economy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
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
// operation op. Each achievement is a row keyed by (user, achievement)
// written with its reward in one transaction: duplicate deliveries and
// concurrent checks award it once.
func (s *Service) CheckAchievements(ctx context.Context, op Op, user int64) (Earned, error) {
	var r Earned
	_, err := s.mutate(ctx, "achievements", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		p, have, err := s.progress(ctx, t, user)
		if err != nil {
			return nil, err
		}
		res := Earned{}
		for _, a := range newlyEarned(s.Achievements(), p, have) {
			tag, err := t.Exec(ctx, `INSERT INTO economy.achievements (user_id, key, earned_at) VALUES ($1, $2, $3)
				ON CONFLICT DO NOTHING`, user, a.Key, t.now)
			if err != nil {
				return nil, fmt.Errorf("achievements: %w", err)
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			res.New = append(res.New, a)
			res.Reward += a.Reward
		}
		if res.Reward > 0 {
			w, err := t.credit(ctx, user, Mint, res.Reward)
			if err != nil {
				return nil, err
			}
			res.Wallet = w
		}
		t.memo = fmt.Sprintf("%d achievement(s)", len(res.New))
		return res, nil
	})
	return r, err
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
	var streak, worth, shifts, sales, purchases, trades, vaulted int64
	err := q.QueryRow(ctx, `SELECT
		coalesce((SELECT streak FROM economy.accounts WHERE user_id = $1), 0),
		coalesce((SELECT least(wallet::numeric + bank, 9223372036854775807)::bigint FROM economy.accounts WHERE user_id = $1), 0),
		(SELECT count(*) FROM economy.transactions WHERE user_id = $1 AND kind = 'work' AND NOT result ? 'err'),
		(SELECT count(*) FROM economy.market_sales WHERE seller_id = $1),
		(SELECT count(*) FROM economy.market_sales WHERE buyer_id = $1),
		(SELECT count(*) FROM economy.trades WHERE state = 'done' AND (a_id = $1 OR b_id = $1)),
		(SELECT count(*) FROM economy.vault WHERE owner_id = $1)`, user).
		Scan(&streak, &worth, &shifts, &sales, &purchases, &trades, &vaulted)
	if err != nil {
		return Progress{}, nil, fmt.Errorf("achievements: progress: %w", err)
	}
	p.Values[MetricStreak], p.Values[MetricNetWorth], p.Values[MetricShifts] = streak, worth, shifts
	p.Values[MetricSales], p.Values[MetricPurchases], p.Values[MetricTrades], p.Values[MetricVaulted] = sales, purchases, trades, vaulted

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
			if err != nil && !errors.Is(err, ErrOverflow) {
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
