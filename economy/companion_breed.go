package economy

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Egg is an offspring incubating: decided when it was laid (from the seed
// of the breeding's interaction), a companion once it hatches.
type Egg struct {
	ID         int64     `json:"id"`
	Owner      int64     `json:"owner"`
	Model      string    `json:"model"`
	Stats      Stats     `json:"stats"`
	Generation int       `json:"generation"`
	Mutated    bool      `json:"mutated,omitempty"`
	ParentA    int64     `json:"parent_a"`
	ParentB    int64     `json:"parent_b"`
	Seed       uint64    `json:"seed"`
	LaidAt     time.Time `json:"laid_at"`
	ReadyAt    time.Time `json:"ready_at"`
}

const eggColumns = `id, owner_id, model, power, speed, focus, charm, generation, mutated, parent_a, parent_b, seed, laid_at, ready_at`

func scanEgg(row pgx.Row) (Egg, error) {
	var e Egg
	var seed int64
	err := row.Scan(&e.ID, &e.Owner, &e.Model, &e.Stats.Power, &e.Stats.Speed, &e.Stats.Focus, &e.Stats.Charm,
		&e.Generation, &e.Mutated, &e.ParentA, &e.ParentB, &seed, &e.LaidAt, &e.ReadyAt)
	e.Seed = uint64(seed)
	return e, err
}

// BreedResult is the outcome of a breeding: the egg laid, the parents as
// they are now (busy until the egg is ready), the cost and the wallet left.
type BreedResult struct {
	Egg     Egg          `json:"egg"`
	Parents [2]Companion `json:"parents"`
	Cost    int64        `json:"cost"`
	Wallet  int64        `json:"wallet"`
}

// BreedCompanions breeds two of user's companions of at least the
// breeding level: the cost goes to the Sink, both parents get the breeding
// cooldown and are busy until the egg is ready, and the egg (its offspring
// decided now from a seed derived from op, stored with it) takes one of
// the user's companion slots until HatchEggs hatches it.
func (s *Service) BreedCompanions(ctx context.Context, op Op, user int64, refA, refB string) (BreedResult, error) {
	if err := s.companionsOn(); err != nil {
		return BreedResult{}, err
	}
	rule := s.cat.Companions.Breed
	var r BreedResult
	_, err := s.mutate(ctx, "companion_breed", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		a, err := t.lockCompanion(ctx, user, refA)
		if err != nil {
			return nil, err
		}
		b, err := t.lockCompanion(ctx, user, refB)
		if err != nil {
			return nil, err
		}
		for _, c := range []Companion{a, b} {
			if err := idle(c); err != nil {
				return nil, err
			}
			if c.Level < rule.MinLevel {
				return nil, ErrBreedLevel.Withf("%s is level %d; both parents must be level %d or more.", c.Name, c.Level, rule.MinLevel)
			}
			if c.BreedReady != nil && t.now.Before(*c.BreedReady) {
				return nil, cooldownRefusal(c.Name+"'s next breeding", *c.BreedReady)
			}
		}
		if a.ID == b.ID {
			return nil, ErrBreedSelf
		}
		if err := t.roomForCompanion(ctx, user, "breeding"); err != nil {
			return nil, err
		}
		w, err := t.credit(ctx, user, Sink, -rule.Cost)
		if err != nil {
			return nil, err
		}
		seed := seedOf(op)
		o := s.cat.breed(Parent{a.Model, a.Stats, a.Generation}, Parent{b.Model, b.Stats, b.Generation}, seed)
		egg := Egg{Owner: user, Model: o.Model, Stats: o.Stats, Generation: o.Generation, Mutated: o.Mutated,
			ParentA: a.ID, ParentB: b.ID, Seed: seed, LaidAt: t.now, ReadyAt: eggReadyAt(rule, t.now)}
		if err := t.QueryRow(ctx, `INSERT INTO economy.eggs (owner_id, model, power, speed, focus, charm, generation, mutated,
				parent_a, parent_b, seed, laid_at, ready_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			user, egg.Model, egg.Stats.Power, egg.Stats.Speed, egg.Stats.Focus, egg.Stats.Charm, egg.Generation, egg.Mutated,
			egg.ParentA, egg.ParentB, int64(seed), egg.LaidAt, egg.ReadyAt).Scan(&egg.ID); err != nil {
			return nil, fmt.Errorf("lay egg: %w", err)
		}
		next := t.now.Add(time.Duration(rule.CooldownSeconds) * time.Second)
		for _, c := range []*Companion{&a, &b} {
			c.BreedReady = &next
			c.BreedingUntil = &egg.ReadyAt
			if err := t.saveCompanion(ctx, *c); err != nil {
				return nil, err
			}
			t.s.fresh(c, t.now)
		}
		t.memo = fmt.Sprintf("breed %s × %s: egg %d", a.Name, b.Name, egg.ID)
		return BreedResult{Egg: egg, Parents: [2]Companion{a, b}, Cost: rule.Cost, Wallet: w}, nil
	})
	return r, err
}

// HatchResult is what a hatching did: the companions hatched (with their
// eggs, in the same order) and the eggs still incubating.
type HatchResult struct {
	Hatched []Companion `json:"hatched"`
	Eggs    []Egg       `json:"eggs"`
	Waiting []Egg       `json:"waiting,omitempty"`
}

// HatchEggs hatches every egg of user's that is ready: each becomes the
// companion decided when it was laid, exactly once (the egg row goes in
// the same transaction, and op makes a repeat a replay). With no egg
// ready it refuses, saying when the next one is.
func (s *Service) HatchEggs(ctx context.Context, op Op, user int64) (HatchResult, error) {
	if err := s.companionsOn(); err != nil {
		return HatchResult{}, err
	}
	var r HatchResult
	_, err := s.mutate(ctx, "companion_hatch", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		eggs, err := t.eggs(ctx, user, true)
		if err != nil {
			return nil, err
		}
		ready, waiting := hatchable(eggs, t.now)
		if len(ready) == 0 {
			if len(waiting) > 0 {
				return nil, ErrNoEggReady.Withf("Your egg is not ready: it hatches <t:%d:R>.", waiting[0].ReadyAt.Unix())
			}
			return nil, ErrNoEggReady
		}
		res := HatchResult{Eggs: ready, Waiting: waiting}
		for _, e := range ready {
			m, ok := s.cat.Model(e.Model)
			if !ok {
				return nil, fmt.Errorf("hatch egg %d: model %q is not in the catalogue", e.ID, e.Model)
			}
			c, err := t.insertCompanion(ctx, user, m, e.Stats, e.Generation, e.ParentA, e.ParentB, e.Seed)
			if err != nil {
				return nil, err
			}
			if _, err := t.Exec(ctx, `DELETE FROM economy.eggs WHERE id = $1`, e.ID); err != nil {
				return nil, fmt.Errorf("hatch: %w", err)
			}
			res.Hatched = append(res.Hatched, c)
		}
		t.memo = fmt.Sprintf("hatch %d", len(ready))
		return res, nil
	})
	return r, err
}

// eggs lists user's eggs, oldest first; lock locks them.
func (t *txn) eggs(ctx context.Context, user int64, lock bool) ([]Egg, error) {
	q := `SELECT ` + eggColumns + ` FROM economy.eggs WHERE owner_id = $1 ORDER BY ready_at, id`
	if lock {
		q += ` FOR UPDATE`
	}
	return collectEggs(t.Query(ctx, q, user))
}

func collectEggs(rows pgx.Rows, err error) ([]Egg, error) {
	if err != nil {
		return nil, fmt.Errorf("eggs: %w", err)
	}
	defer rows.Close()
	var out []Egg
	for rows.Next() {
		e, err := scanEgg(rows)
		if err != nil {
			return nil, fmt.Errorf("eggs: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("eggs: %w", err)
	}
	return out, nil
}

// Eggs lists user's eggs, the next to hatch first.
func (s *Service) Eggs(ctx context.Context, user int64) ([]Egg, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var out []Egg
	err := s.read(ctx, "eggs", func(ctx context.Context, tx pgx.Tx) error {
		var err error
		out, err = collectEggs(tx.Query(ctx, `SELECT `+eggColumns+` FROM economy.eggs WHERE owner_id = $1 ORDER BY ready_at, id`, user))
		return err
	})
	return out, err
}
