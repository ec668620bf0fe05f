package economy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DailyReward is the outcome of Daily.
type DailyReward struct {
	Reward     int64     `json:"reward"`
	Streak     int       `json:"streak"`
	Percent    int64     `json:"percent"`     // multiplier in percent (100..MaxPercent)
	SaversUsed int       `json:"savers_used"` // streak shields spent on missed days
	Decayed    bool      `json:"decayed"`     // missed days cut the streak
	Premium    int64     `json:"premium"`     // credits of the reward that the premium bonus added
	Wallet     int64     `json:"wallet"`
	Next       time.Time `json:"next"` // when the next claim opens
}

// Daily claims the daily reward, once per UTC day.
//
// The streak rule: claiming on the UTC day after the last claim adds one
// to the streak; the first claim, or any claim after a gap, starts from the
// streak kept. Each missed UTC day is first covered by a Streak Shield
// charge if the user has one (the streak survives as if claimed); every
// uncovered missed day halves the streak (rounding down). The reward is
// Base × (100% + StepPercent × (streak−1)), capped at MaxPercent (3.0×).
func (s *Service) Daily(ctx context.Context, op Op, user int64) (DailyReward, error) {
	return cached(ctx, s, user, ActionDaily, "your daily",
		func() (DailyReward, error) { return s.daily(ctx, op, user) },
		func(r DailyReward) time.Time { return r.Next })
}

func (s *Service) daily(ctx context.Context, op Op, user int64) (DailyReward, error) {
	var r DailyReward
	_, err := s.mutate(ctx, "daily", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		a, err := t.lockAccount(ctx, user)
		if err != nil {
			return nil, err
		}
		var last *time.Time
		if err := t.QueryRow(ctx, `SELECT last_daily FROM economy.accounts WHERE user_id = $1`, user).Scan(&last); err != nil {
			return nil, fmt.Errorf("daily: %w", err)
		}
		next := dailyNext(t.now)
		missed, open := dailyGap(last, t.now)
		if !open {
			return nil, cooldownRefusal("your daily", next)
		}
		var charges int
		if missed > 0 {
			err := t.QueryRow(ctx, `SELECT charges FROM economy.buffs WHERE user_id = $1 AND kind = $2 FOR UPDATE`,
				user, BuffStreakSaver).Scan(&charges)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return nil, fmt.Errorf("daily: %w", err)
			}
		}
		claim := dailyStreak(a.Streak, last == nil, missed, charges)
		if claim.SaversUsed > 0 {
			if _, err := t.Exec(ctx, `UPDATE economy.buffs SET charges = charges - $3 WHERE user_id = $1 AND kind = $2`,
				user, BuffStreakSaver, claim.SaversUsed); err != nil {
				return nil, fmt.Errorf("daily: %w", err)
			}
		}
		streak := claim.Streak
		res := DailyReward{Next: next, Streak: streak, SaversUsed: claim.SaversUsed, Decayed: claim.Decayed}
		res.Reward, res.Percent = s.cat.dailyReward(streak)
		perks, err := t.perks(ctx, user)
		if err != nil {
			return nil, err
		}
		base := res.Reward
		res.Reward = perks.Daily(base)
		res.Premium = res.Reward - base
		w, err := t.credit(ctx, user, Mint, res.Reward)
		if err != nil {
			return nil, err
		}
		res.Wallet = w
		if _, err := t.Exec(ctx, `UPDATE economy.accounts SET streak = $2, last_daily = $3 WHERE user_id = $1`,
			user, streak, utcDay(t.now)); err != nil {
			return nil, fmt.Errorf("daily: %w", err)
		}
		t.memo = fmt.Sprintf("streak %d", streak)
		return res, nil
	})
	return r, err
}

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// cooldown checks action's cooldown for user and, when ready, sets the
// next ready time. The caller holds the account lock.
func (t *txn) cooldown(ctx context.Context, user int64, action, label string, d time.Duration) error {
	var ready time.Time
	err := t.QueryRow(ctx, `SELECT ready_at FROM economy.cooldowns WHERE user_id = $1 AND action = $2`, user, action).Scan(&ready)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("cooldown: %w", err)
	}
	next, err := cooldownNext(ready, err == nil, t.now, d, label)
	if err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `INSERT INTO economy.cooldowns (user_id, action, ready_at) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, action) DO UPDATE SET ready_at = EXCLUDED.ready_at`, user, action, next); err != nil {
		return fmt.Errorf("cooldown: %w", err)
	}
	return nil
}

// buffPercent returns the active percentage of a timed buff, or 0.
func (t *txn) buffPercent(ctx context.Context, user int64, kind string) (int64, error) {
	var p int64
	err := t.QueryRow(ctx, `SELECT percent FROM economy.buffs WHERE user_id = $1 AND kind = $2 AND expires_at > $3`,
		user, kind, t.now).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("buff: %w", err)
	}
	return p, nil
}

// Shift is the outcome of Work.
type Shift struct {
	Job          string    `json:"job"`
	JobName      string    `json:"job_name"`
	Pay          int64     `json:"pay"`
	BonusPercent int64     `json:"bonus_percent"`
	Flavour      string    `json:"flavour"`
	Wallet       int64     `json:"wallet"`
	Next         time.Time `json:"next"`
	Helper       Helper    `json:"helper,omitzero"` // a companion's skill that raised the pay

	// Event is what the shift earned in the running seasonal event.
	Event *EventGain `json:"event,omitempty"`
}

// Work does a shift of job: pay drawn from the job's range, raised by an
// active work-pay buff, then the job's cooldown.
func (s *Service) Work(ctx context.Context, op Op, user int64, job string) (Shift, error) {
	j, ok := s.cat.Job(job)
	if !ok {
		return Shift{}, ErrUnknownJob
	}
	return cached(ctx, s, user, ActionWork(j.Key), j.Name,
		func() (Shift, error) { return s.work(ctx, op, user, j) },
		func(r Shift) time.Time { return r.Next })
}

func (s *Service) work(ctx context.Context, op Op, user int64, j *Job) (Shift, error) {
	var r Shift
	_, err := s.mutate(ctx, "work", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		perks, err := t.perks(ctx, user)
		if err != nil {
			return nil, err
		}
		cooldown := perks.WorkCooldown(j.Cooldown())
		if err := t.cooldown(ctx, user, ActionWork(j.Key), j.Name, cooldown); err != nil {
			return nil, err
		}
		bonus, err := t.buffPercent(ctx, user, BuffWorkPay)
		if err != nil {
			return nil, err
		}
		helper, err := t.companionHelp(ctx, user, workSkill)
		if err != nil {
			return nil, err
		}
		ev := t.activeEvent()
		pay := eventWorkPay(ev, workPay(j, bonus+helper.Percent, s.int64n))
		w, err := t.credit(ctx, user, Mint, pay)
		if err != nil {
			return nil, err
		}
		gain, err := t.eventPlay(ctx, ev, user, PlayWork)
		if err != nil {
			return nil, err
		}
		t.memo = j.Name
		return Shift{Job: j.Key, JobName: j.Name, Pay: pay, BonusPercent: bonus,
			Flavour: j.Flavour[s.int64n(int64(len(j.Flavour)))], Wallet: w, Next: t.now.Add(cooldown), Helper: helper, Event: gain}, nil
	})
	return r, err
}

// Find is the outcome of Gather.
type Find struct {
	Tool        string    `json:"tool"`
	Item        string    `json:"item"`
	ItemName    string    `json:"item_name"`
	Rarity      string    `json:"rarity"`
	FirstFind   bool      `json:"first_find"`
	Durability  int       `json:"durability"` // left on the tool; 0 when it broke
	Broke       bool      `json:"broke"`
	LuckPercent int64     `json:"luck_percent"`
	Next        time.Time `json:"next"`
	Helper      Helper    `json:"helper,omitzero"` // a companion's skill that raised the odds
	Bonus       string    `json:"bonus,omitempty"` // a rare extra find (a companion capsule)

	// Event is what the gather earned in the running seasonal event.
	Event *EventGain `json:"event,omitempty"`
}

// Gather uses a tool (tool "" picks the first one owned) to find a
// collectible from its drop table. Each use costs one durability; a tool at
// zero breaks (its row is deleted). A gather-luck buff multiplies the
// weights of rare and better tiers.
func (s *Service) Gather(ctx context.Context, op Op, user int64, tool string) (Find, error) {
	if tool != "" {
		it, ok := s.cat.Item(tool)
		if !ok {
			return Find{}, ErrUnknownItem
		}
		if it.Type != TypeTool {
			return Find{}, ErrNotTool
		}
	}
	return cached(ctx, s, user, ActionGather, "gathering",
		func() (Find, error) { return s.gather(ctx, op, user, tool) },
		func(r Find) time.Time { return r.Next })
}

func (s *Service) gather(ctx context.Context, op Op, user int64, tool string) (Find, error) {
	var r Find
	_, err := s.mutate(ctx, "gather", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		var id int64
		var key string
		var dur int
		err := t.QueryRow(ctx, `SELECT i.id, i.item_key, i.durability FROM economy.items i
			WHERE i.owner_id = $1 AND i.durability IS NOT NULL AND ($2 = '' OR i.item_key = $2)
			  AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)
			ORDER BY i.durability, i.id LIMIT 1 FOR UPDATE`, user, tool).Scan(&id, &key, &dur)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNoTool
		}
		if err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
		it, ok := s.cat.Item(key)
		if !ok || it.Type != TypeTool {
			return nil, ErrNotTool
		}
		if err := t.cooldown(ctx, user, ActionGather, "gathering", time.Duration(s.cat.GatherCooldownSeconds)*time.Second); err != nil {
			return nil, err
		}
		luck, err := t.buffPercent(ctx, user, BuffGatherLuck)
		if err != nil {
			return nil, err
		}
		helper, err := t.companionHelp(ctx, user, gatherSkill)
		if err != nil {
			return nil, err
		}
		ev := t.activeEvent()
		rarity, found := s.cat.gatherDraw(it, luck+helper.Percent+eventGatherLuck(ev), s.int64n)
		f, _ := s.cat.Item(found)
		res := Find{Tool: key, Item: found, ItemName: f.Name, Rarity: rarity, LuckPercent: luck, Helper: helper,
			Next: t.now.Add(time.Duration(s.cat.GatherCooldownSeconds) * time.Second)}
		if _, err := t.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key, acquired_at) VALUES ($1, $2, $3)`,
			user, found, t.now); err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
		t.items(user, found, 1, "find")
		var n int64
		if err := t.QueryRow(ctx, `INSERT INTO economy.collection (user_id, item_key, found, first_found_at) VALUES ($1, $2, 1, $3)
			ON CONFLICT (user_id, item_key) DO UPDATE SET found = economy.collection.found + 1 RETURNING found`,
			user, found, t.now).Scan(&n); err != nil {
			return nil, fmt.Errorf("gather: %w", err)
		}
		res.FirstFind = n == 1
		if cr := s.cat.Companions; cr.GatherCapsulePerMille > 0 && s.int64n(1000) < int64(cr.GatherCapsulePerMille) {
			if err := t.giveItem(ctx, user, cr.GatherCapsule, "bonus"); err != nil {
				return nil, err
			}
			res.Bonus = cr.GatherCapsule
		}
		if dur <= 1 {
			if _, err := t.Exec(ctx, `DELETE FROM economy.items WHERE id = $1`, id); err != nil {
				return nil, fmt.Errorf("gather: %w", err)
			}
			t.items(user, key, -1, "break")
			res.Broke = true
		} else {
			if _, err := t.Exec(ctx, `UPDATE economy.items SET durability = durability - 1 WHERE id = $1`, id); err != nil {
				return nil, fmt.Errorf("gather: %w", err)
			}
			res.Durability = dur - 1
		}
		if res.Event, err = t.eventPlay(ctx, ev, user, PlayGather); err != nil {
			return nil, err
		}
		t.memo = found
		return res, nil
	})
	return r, err
}

// Purchase is the outcome of Buy or Sell.
type Purchase struct {
	Item     string `json:"item"`
	ItemName string `json:"item_name"`
	Quantity int    `json:"quantity"`
	Total    int64  `json:"total"` // credits paid (Buy) or received (Sell)
	Wallet   int64  `json:"wallet"`
}

// MaxQuantity bounds the quantity of one Buy or Sell.
const MaxQuantity = 100

// Buy buys qty of a shop item: the price goes to the Sink, the items
// become rows owned by user, in one transaction.
func (s *Service) Buy(ctx context.Context, op Op, user int64, item string, qty int) (Purchase, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return Purchase{}, ErrUnknownItem
	}
	cost, err := buyCost(it, qty)
	if err != nil {
		return Purchase{}, err
	}
	var r Purchase
	_, err = s.mutate(ctx, "buy", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		if s.cat.PremiumOnly(it.Key) {
			perks, err := t.perks(ctx, user)
			if err != nil {
				return nil, err
			}
			if !perks.CanBuy(it.Key) {
				return nil, ErrPremiumOnly.Withf("The %s is for premium members; see /premium.", it.Name)
			}
		}
		w, err := t.credit(ctx, user, Sink, -cost)
		if err != nil {
			return nil, err
		}
		var dur *int
		if it.Type == TypeTool {
			dur = &it.Durability
		}
		if _, err := t.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key, durability, acquired_at)
			SELECT $1, $2, $3, $4 FROM generate_series(1, $5)`, user, it.Key, dur, t.now, qty); err != nil {
			return nil, fmt.Errorf("buy: %w", err)
		}
		t.items(user, it.Key, qty, "buy")
		t.memo = fmt.Sprintf("%d× %s", qty, it.Name)
		return Purchase{Item: it.Key, ItemName: it.Name, Quantity: qty, Total: cost, Wallet: w}, nil
	})
	return r, err
}

// Sell sells qty of an item user owns (not vaulted) for its sell price,
// paid from the Mint; the rows are deleted in the same transaction.
func (s *Service) Sell(ctx context.Context, op Op, user int64, item string, qty int) (Purchase, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return Purchase{}, ErrUnknownItem
	}
	gain, err := sellGain(it, qty)
	if err != nil {
		return Purchase{}, err
	}
	var r Purchase
	_, err = s.mutate(ctx, "sell", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		n, err := t.takeItems(ctx, user, it.Key, qty)
		if err != nil {
			return nil, err
		}
		t.items(user, it.Key, -n, "sell")
		w, err := t.credit(ctx, user, Mint, gain)
		if err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("%d× %s", qty, it.Name)
		return Purchase{Item: it.Key, ItemName: it.Name, Quantity: qty, Total: gain, Wallet: w}, nil
	})
	return r, err
}

// takeItems deletes qty of user's non-vaulted items of key (most worn
// tools first) or fails with ErrNotEnoughItems.
func (t *txn) takeItems(ctx context.Context, user int64, key string, qty int) (int, error) {
	tag, err := t.Exec(ctx, `DELETE FROM economy.items WHERE id IN (
			SELECT i.id FROM economy.items i
			WHERE i.owner_id = $1 AND i.item_key = $2
			  AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)
			ORDER BY i.durability NULLS FIRST, i.id LIMIT $3 FOR UPDATE)`, user, key, qty)
	if err != nil {
		return 0, fmt.Errorf("take items: %w", err)
	}
	if int(tag.RowsAffected()) < qty {
		return 0, ErrNotEnoughItems
	}
	return qty, nil
}

// Used is the outcome of Use.
type Used struct {
	Item         string     `json:"item"`
	ItemName     string     `json:"item_name"`
	Buff         string     `json:"buff,omitempty"`
	Percent      int        `json:"percent,omitempty"`
	Until        *time.Time `json:"until,omitempty"`
	Charges      int        `json:"charges,omitempty"`
	BankCapacity int64      `json:"bank_capacity,omitempty"`
}

// Use consumes one consumable: a timed buff (extended if already active),
// a streak-saver charge, or more bank capacity.
func (s *Service) Use(ctx context.Context, op Op, user int64, item string) (Used, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return Used{}, ErrUnknownItem
	}
	if it.Type != TypeConsumable {
		return Used{}, ErrNotUsable
	}
	var r Used
	_, err := s.mutate(ctx, "use", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		if _, err := t.takeItems(ctx, user, it.Key, 1); err != nil {
			return nil, err
		}
		t.items(user, it.Key, -1, "use")
		e := it.Effect
		res := Used{Item: it.Key, ItemName: it.Name, Buff: e.Buff}
		switch e.Buff {
		case BuffWorkPay, BuffGatherLuck:
			var until time.Time
			if err := t.QueryRow(ctx, `INSERT INTO economy.buffs (user_id, kind, percent, expires_at) VALUES ($1, $2, $3, $4::timestamptz + $5 * interval '1 minute')
				ON CONFLICT (user_id, kind) DO UPDATE SET percent = greatest(economy.buffs.percent, EXCLUDED.percent),
				  expires_at = greatest(economy.buffs.expires_at, $4::timestamptz) + $5 * interval '1 minute'
				RETURNING expires_at`, user, e.Buff, e.Percent, t.now, e.Minutes).Scan(&until); err != nil {
				return nil, fmt.Errorf("use: %w", err)
			}
			res.Percent, res.Until = e.Percent, &until
		case BuffStreakSaver:
			if err := t.QueryRow(ctx, `INSERT INTO economy.buffs (user_id, kind, charges) VALUES ($1, $2, $3)
				ON CONFLICT (user_id, kind) DO UPDATE SET charges = economy.buffs.charges + EXCLUDED.charges
				RETURNING charges`, user, e.Buff, e.Charges).Scan(&res.Charges); err != nil {
				return nil, fmt.Errorf("use: %w", err)
			}
		default:
			err := t.QueryRow(ctx, `UPDATE economy.accounts SET bank_capacity = bank_capacity + $2::bigint
				WHERE user_id = $1 AND bank_capacity <= 9223372036854775807 - $2::bigint RETURNING bank_capacity`,
				user, e.BankCapacity).Scan(&res.BankCapacity)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, ErrOverflow
			}
			if err != nil {
				return nil, fmt.Errorf("use: %w", err)
			}
		}
		t.memo = it.Name
		return res, nil
	})
	return r, err
}
