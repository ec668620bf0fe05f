package economy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Companion is a companion as its owner sees it now: charge and mood with
// their decay up to the time of reading.
type Companion struct {
	ID         int64      `json:"id"`
	Owner      int64      `json:"owner"`
	Model      string     `json:"model"`
	Name       string     `json:"name"`
	Stats      Stats      `json:"stats"`
	XP         int64      `json:"xp"`
	Level      int        `json:"level"`
	Skills     []string   `json:"skills"`
	FreePoints int        `json:"free_points"`
	Charge     int        `json:"charge"`
	Mood       int        `json:"mood"`
	Skin       string     `json:"skin,omitempty"`
	Chassis    string     `json:"chassis,omitempty"`
	Stasis     bool       `json:"stasis"`
	BattleID   int64      `json:"battle_id,omitempty"` // non-zero while in a battle or challenge
	TrainReady *time.Time `json:"train_ready,omitempty"`
	BreedReady *time.Time `json:"breed_ready,omitempty"`
	// BreedingUntil is when the egg this companion is a parent of is ready;
	// Breeding is whether that is still ahead (the companion is busy).
	BreedingUntil *time.Time `json:"breeding_until,omitempty"`
	Breeding      bool       `json:"breeding,omitempty"`
	Generation    int        `json:"generation"`
	ParentA       int64      `json:"parent_a,omitempty"`
	ParentB       int64      `json:"parent_b,omitempty"`
	Seed          uint64     `json:"seed,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	chargeAt      time.Time
	moodAt        time.Time
	stasisSince   *time.Time
}

// LevelProgress is the XP into the current level and the XP the level
// spans (0 at the maximum level).
func (c Companion) LevelProgress(maxLevel int) (into, span int64) {
	if c.Level >= maxLevel {
		return 0, 0
	}
	lo, hi := xpForLevel(c.Level), xpForLevel(c.Level+1)
	return c.XP - lo, hi - lo
}

const companionColumns = `id, owner_id, model, name, power, speed, focus, charm, xp, charge, charge_at, mood, mood_at,
	skills, coalesce(skin, ''), coalesce(chassis, ''), stasis_since, train_ready_at, breed_ready_at, coalesce(battle_id, 0),
	generation, coalesce(parent_a, 0), coalesce(parent_b, 0), coalesce(seed, 0), created_at, breeding_until`

func scanCompanion(row pgx.Row) (Companion, error) {
	var c Companion
	var seed int64
	err := row.Scan(&c.ID, &c.Owner, &c.Model, &c.Name, &c.Stats.Power, &c.Stats.Speed, &c.Stats.Focus, &c.Stats.Charm,
		&c.XP, &c.Charge, &c.chargeAt, &c.Mood, &c.moodAt, &c.Skills, &c.Skin, &c.Chassis, &c.stasisSince,
		&c.TrainReady, &c.BreedReady, &c.BattleID, &c.Generation, &c.ParentA, &c.ParentB, &seed, &c.CreatedAt, &c.BreedingUntil)
	c.Seed = uint64(seed)
	c.Stasis = c.stasisSince != nil
	return c, err
}

// fresh brings charge, mood, level and free points up to now.
func (s *Service) fresh(c *Companion, now time.Time) {
	r := s.cat.Companions
	c.Charge, c.chargeAt = decay(c.Charge, c.chargeAt, now, time.Duration(r.ChargeStepSeconds)*time.Second, c.Stasis)
	c.Mood, c.moodAt = decay(c.Mood, c.moodAt, now, time.Duration(r.MoodStepSeconds)*time.Second, c.Stasis)
	c.Level = levelFor(c.XP, r.MaxLevel)
	c.Breeding = breeding(c.BreedingUntil, now)
	if m, ok := s.cat.Model(c.Model); ok {
		c.FreePoints = skillPoints(c.Level) - spentPoints(m, c.Skills)
	}
	if c.Skills == nil {
		c.Skills = []string{}
	}
}

// companionRef matches a companion by "#id" or by name, case-insensitively.
func companionRef(ref string) (id int64, name string) {
	ref = strings.TrimSpace(ref)
	if n, err := strconv.ParseInt(strings.TrimPrefix(ref, "#"), 10, 64); err == nil && n > 0 {
		return n, ""
	}
	return 0, ref
}

// lockCompanion locks user's companion ref for this transaction and brings
// it up to date.
func (t *txn) lockCompanion(ctx context.Context, user int64, ref string) (Companion, error) {
	id, name := companionRef(ref)
	c, err := scanCompanion(t.QueryRow(ctx, `SELECT `+companionColumns+` FROM economy.companions
		WHERE owner_id = $1 AND (id = $2 OR lower(name) = lower($3)) ORDER BY id LIMIT 1 FOR UPDATE`, user, id, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return Companion{}, t.missingCompanion(ctx, user, ref, id, name)
	}
	if err != nil {
		return Companion{}, fmt.Errorf("companion: %w", err)
	}
	t.s.fresh(&c, t.now)
	return c, nil
}

// missingCompanion is the refusal for user's companion ref not found:
// ErrCompanionListed when it waits on the market, else ErrUnknownCompanion.
func (t *txn) missingCompanion(ctx context.Context, user int64, ref string, id int64, name string) error {
	var listing int64
	err := t.QueryRow(ctx, `SELECT l.id FROM economy.market_listings l JOIN economy.companions c ON c.id = l.companion_id
		WHERE l.seller_id = $1 AND l.state = 'open' AND l.kind = 'companion' AND c.owner_id = -3
		  AND (c.id = $2 OR lower(c.name) = lower($3)) ORDER BY l.id LIMIT 1`, user, id, name).Scan(&listing)
	switch {
	case err == nil:
		return ErrCompanionListed.Withf("%s is listed on the market (listing %d); cancel the listing first.", ref, listing)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("companion: %w", err)
	}
	return ErrUnknownCompanion.Withf("You have no companion called %q; see /companion list.", ref)
}

// save writes c's mutable state back.
func (t *txn) saveCompanion(ctx context.Context, c Companion) error {
	var skin, chassis *string
	if c.Skin != "" {
		skin = &c.Skin
	}
	if c.Chassis != "" {
		chassis = &c.Chassis
	}
	var battle *int64
	if c.BattleID != 0 {
		battle = &c.BattleID
	}
	_, err := t.Exec(ctx, `UPDATE economy.companions SET name = $2, xp = $3, charge = $4, charge_at = $5, mood = $6, mood_at = $7,
		skills = $8, skin = $9, chassis = $10, stasis_since = $11, train_ready_at = $12, breed_ready_at = $13, battle_id = $14,
		breeding_until = $15
		WHERE id = $1`, c.ID, c.Name, c.XP, c.Charge, c.chargeAt, c.Mood, c.moodAt, c.Skills, skin, chassis, c.stasisSince,
		c.TrainReady, c.BreedReady, battle, c.BreedingUntil)
	if err != nil {
		return fmt.Errorf("save companion: %w", err)
	}
	return nil
}

// idle refuses a companion that is in stasis, in a battle or breeding.
func idle(c Companion) error {
	switch {
	case c.Stasis:
		return ErrInStasis.Withf("%s is in stasis; wake it first with /companion stasis.", c.Name)
	case c.BattleID != 0:
		return ErrInBattle.Withf("%s is in a battle right now.", c.Name)
	case c.Breeding:
		return ErrBreeding.Withf("%s is busy breeding until its egg is ready <t:%d:R>.", c.Name, c.BreedingUntil.Unix())
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[\p{L}\p{N} _'-]{1,32}$`)

// checkName validates a companion name: 1-32 letters, digits, spaces,
// '-', '_' or '\”, not only digits (those name companions by number).
func checkName(name string) (string, error) {
	name = strings.Join(strings.Fields(name), " ")
	if !nameRE.MatchString(name) {
		return "", ErrBadCompanionName
	}
	if _, err := strconv.ParseInt(strings.TrimPrefix(name, "#"), 10, 64); err == nil {
		return "", ErrBadCompanionName
	}
	return name, nil
}

func (s *Service) companionsOn() error {
	if len(s.cat.Companions.Models) == 0 {
		return ErrNoCompanions
	}
	return nil
}

// CompanionResult is the outcome of a companion command: the companion
// after the change and what the change did.
type CompanionResult struct {
	Companion Companion `json:"companion"`
	XPGained  int64     `json:"xp_gained,omitempty"`
	LevelUp   bool      `json:"level_up,omitempty"`
	Cost      int64     `json:"cost,omitempty"`
	Wallet    int64     `json:"wallet,omitempty"`
	Skill     string    `json:"skill,omitempty"`
	Returned  []string  `json:"returned,omitempty"` // cosmetics back in the inventory
}

// OpenCapsule opens one of user's capsules of item: a new companion of a
// model drawn by rarity (a capsule's luck raises rare and better), with
// stats rolled around the model's, full charge and good mood.
func (s *Service) OpenCapsule(ctx context.Context, op Op, user int64, item string) (CompanionResult, error) {
	if err := s.companionsOn(); err != nil {
		return CompanionResult{}, err
	}
	it, ok := s.cat.Item(item)
	if !ok {
		return CompanionResult{}, ErrUnknownItem
	}
	if it.Type != TypeCapsule {
		return CompanionResult{}, ErrNotUsable
	}
	var r CompanionResult
	_, err := s.mutate(ctx, "capsule", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		if err := t.roomForCompanion(ctx, user, "opening a capsule"); err != nil {
			return nil, err
		}
		if _, err := t.takeItems(ctx, user, it.Key, 1); err != nil {
			return nil, err
		}
		t.items(user, it.Key, -1, "open")
		var luck int64
		if it.Effect != nil {
			luck = int64(it.Effect.Percent)
		}
		seed := seedOf(op)
		rng := rand.New(rand.NewPCG(seed, 0x63617073))
		m := s.cat.drawModel(luck, rng)
		stats := rollStats(m.Stats, s.cat.Companions.StatVariation, rng)
		c, err := t.insertCompanion(ctx, user, m, stats, 1, 0, 0, seed)
		if err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("%s: %s", it.Name, m.Name)
		return CompanionResult{Companion: c}, nil
	})
	return r, err
}

// countCompanions counts user's companions and eggs (an egg holds a slot),
// and the companions they list on the market (they come back).
func (t *txn) countCompanions(ctx context.Context, user int64) (int, error) {
	var n int
	if err := t.QueryRow(ctx, `SELECT (SELECT count(*) FROM economy.companions WHERE owner_id = $1)
		+ (SELECT count(*) FROM economy.eggs WHERE owner_id = $1)
		+ (SELECT count(*) FROM economy.market_listings WHERE seller_id = $1 AND state = 'open' AND kind = 'companion')`,
		user).Scan(&n); err != nil {
		return 0, fmt.Errorf("count companions: %w", err)
	}
	return n, nil
}

// insertCompanion creates user's companion of model m, named after the
// model (numbered when the name is taken).
func (t *txn) insertCompanion(ctx context.Context, user int64, m *ModelSpec, st Stats, gen int, pa, pb int64, seed uint64) (Companion, error) {
	taken := map[string]bool{}
	rows, err := t.Query(ctx, `SELECT lower(name) FROM economy.companions WHERE owner_id = $1`, user)
	if err != nil {
		return Companion{}, fmt.Errorf("companion names: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return Companion{}, fmt.Errorf("companion names: %w", err)
		}
		taken[n] = true
	}
	if err := rows.Err(); err != nil {
		return Companion{}, fmt.Errorf("companion names: %w", err)
	}
	name := m.Name
	for i := 2; taken[strings.ToLower(name)]; i++ {
		name = fmt.Sprintf("%s %d", m.Name, i)
	}
	var parentA, parentB *int64
	if pa != 0 {
		parentA, parentB = &pa, &pb
	}
	c, err := scanCompanion(t.QueryRow(ctx, `INSERT INTO economy.companions (owner_id, model, name, power, speed, focus, charm,
			charge, charge_at, mood, mood_at, generation, parent_a, parent_b, seed, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $9, $11, $12, $13, $14, $9) RETURNING `+companionColumns,
		user, m.Key, name, st.Power, st.Speed, st.Focus, st.Charm, MaxCharge, t.now, 80, gen, parentA, parentB, int64(seed)))
	if err != nil {
		return Companion{}, fmt.Errorf("insert companion: %w", err)
	}
	t.s.fresh(&c, t.now)
	return c, nil
}

// Companions lists user's companions (anyone may look), oldest first.
func (s *Service) Companions(ctx context.Context, user int64) ([]Companion, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var out []Companion
	err := s.read(ctx, "companions", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT `+companionColumns+` FROM economy.companions WHERE owner_id = $1 ORDER BY id`, user)
		if err != nil {
			return fmt.Errorf("companions: %w", err)
		}
		now := s.now()
		for rows.Next() {
			c, err := scanCompanion(rows)
			if err != nil {
				return fmt.Errorf("companions: %w", err)
			}
			s.fresh(&c, now)
			out = append(out, c)
		}
		return rows.Err()
	})
	return out, err
}

// FindCompanion returns user's companion by "#id" or name.
func (s *Service) FindCompanion(ctx context.Context, user int64, ref string) (Companion, error) {
	all, err := s.Companions(ctx, user)
	if err != nil {
		return Companion{}, err
	}
	id, name := companionRef(ref)
	for _, c := range all {
		if c.ID == id || name != "" && strings.EqualFold(c.Name, name) {
			return c, nil
		}
	}
	return Companion{}, ErrUnknownCompanion.Withf("You have no companion called %q; see /companion list.", ref)
}

// companionOp runs fn on user's companion ref, locked and up to date, and
// saves it; fn returns the result to store.
func (s *Service) companionOp(ctx context.Context, kind string, op Op, user int64, ref string,
	fn func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error)) (CompanionResult, error) {
	if err := s.companionsOn(); err != nil {
		return CompanionResult{}, err
	}
	var r CompanionResult
	_, err := s.mutate(ctx, kind, op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		c, err := t.lockCompanion(ctx, user, ref)
		if err != nil {
			return nil, err
		}
		res, err := fn(ctx, t, &c)
		if err != nil {
			return nil, err
		}
		if err := t.saveCompanion(ctx, c); err != nil {
			return nil, err
		}
		t.s.fresh(&c, t.now)
		res.Companion = c
		if t.memo == "" {
			t.memo = c.Name
		}
		return res, nil
	})
	return r, err
}

// RenameCompanion gives user's companion ref a new name, unique among
// the user's companions.
func (s *Service) RenameCompanion(ctx context.Context, op Op, user int64, ref, name string) (CompanionResult, error) {
	name, err := checkName(name)
	if err != nil {
		return CompanionResult{}, err
	}
	return s.companionOp(ctx, "companion_rename", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		if c.Stasis {
			return CompanionResult{}, idle(*c)
		}
		var taken bool
		if err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.companions WHERE owner_id = $1 AND lower(name) = lower($2) AND id <> $3)`,
			user, name, c.ID).Scan(&taken); err != nil {
			return CompanionResult{}, fmt.Errorf("rename: %w", err)
		}
		if taken {
			return CompanionResult{}, ErrNameTaken.Withf("You already have a companion called %s.", name)
		}
		c.Name = name
		return CompanionResult{}, nil
	})
}

// TrainCompanion trains user's companion ref: it pays the training cost to
// the Sink and charge, and gains XP and mood; then a cooldown. A companion
// in stasis or in a battle, or without the charge, cannot train.
func (s *Service) TrainCompanion(ctx context.Context, op Op, user int64, ref string) (CompanionResult, error) {
	rule := s.cat.Companions.Train
	return s.companionOp(ctx, "companion_train", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		if err := idle(*c); err != nil {
			return CompanionResult{}, err
		}
		if c.TrainReady != nil && t.now.Before(*c.TrainReady) {
			return CompanionResult{}, cooldownRefusal(c.Name+"'s next training", *c.TrainReady)
		}
		if c.Charge < max(1, rule.Charge) {
			return CompanionResult{}, ErrNoCharge.Withf("%s has %d%% charge and training takes %d%%; recharge it with a Power Cell.", c.Name, c.Charge, rule.Charge)
		}
		w, err := t.credit(ctx, user, Sink, -rule.Cost)
		if err != nil {
			return CompanionResult{}, err
		}
		gain := trainGain(rule, c.Stats, c.Mood)
		before := c.Level
		c.XP += gain
		c.Charge -= rule.Charge
		c.Mood = min(MaxMood, c.Mood+rule.Mood)
		next := t.now.Add(time.Duration(rule.CooldownSeconds) * time.Second)
		c.TrainReady = &next
		s.fresh(c, t.now)
		t.memo = fmt.Sprintf("train %s", c.Name)
		return CompanionResult{XPGained: gain, LevelUp: c.Level > before, Cost: rule.Cost, Wallet: w}, nil
	})
}

// LearnSkill spends user's companion's skill points on skill.
func (s *Service) LearnSkill(ctx context.Context, op Op, user int64, ref, skill string) (CompanionResult, error) {
	return s.companionOp(ctx, "companion_learn", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		if err := idle(*c); err != nil {
			return CompanionResult{}, err
		}
		m, ok := s.cat.Model(c.Model)
		if !ok {
			return CompanionResult{}, ErrUnknownSkill
		}
		sk, err := canLearn(m, c.Level, c.Skills, skill)
		if err != nil {
			return CompanionResult{}, err
		}
		c.Skills = append(append([]string(nil), c.Skills...), sk.Key)
		t.memo = fmt.Sprintf("%s learns %s", c.Name, sk.Name)
		return CompanionResult{Skill: sk.Key}, nil
	})
}

// SetStasis puts user's companion ref into stasis (enter) or wakes it.
// Stasis freezes decay and blocks every other action; a companion in a
// battle or breeding cannot enter it.
func (s *Service) SetStasis(ctx context.Context, op Op, user int64, ref string, enter bool) (CompanionResult, error) {
	return s.companionOp(ctx, "companion_stasis", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		switch {
		case enter && c.Stasis:
			return CompanionResult{}, ErrInStasis.Withf("%s is already in stasis.", c.Name)
		case !enter && !c.Stasis:
			return CompanionResult{}, ErrNotInStasis.Withf("%s is already awake.", c.Name)
		case enter && (c.BattleID != 0 || c.Breeding):
			return CompanionResult{}, idle(*c)
		}
		if enter {
			now := t.now
			c.stasisSince = &now
			c.Stasis = true
		} else {
			// Decay resumes from now: the time asleep does not count.
			c.stasisSince, c.Stasis = nil, false
			c.chargeAt, c.moodAt = t.now, t.now
		}
		return CompanionResult{}, nil
	})
}

// RechargeCompanion uses one Power Cell on user's companion ref.
func (s *Service) RechargeCompanion(ctx context.Context, op Op, user int64, ref string) (CompanionResult, error) {
	var cell *Item
	for i := range s.cat.Items {
		if s.cat.Items[i].Type == TypeCell {
			cell = &s.cat.Items[i]
			break
		}
	}
	return s.companionOp(ctx, "companion_recharge", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		if err := idle(*c); err != nil {
			return CompanionResult{}, err
		}
		if cell == nil {
			return CompanionResult{}, ErrUnknownItem
		}
		if c.Charge >= MaxCharge {
			return CompanionResult{}, ErrFullCharge.Withf("%s is fully charged already.", c.Name)
		}
		if _, err := t.takeItems(ctx, user, cell.Key, 1); err != nil {
			return CompanionResult{}, ErrNotEnoughItems.Withf("You have no %s; buy one in /shop.", cell.Name)
		}
		t.items(user, cell.Key, -1, "recharge")
		if c.Charge == 0 {
			c.chargeAt = t.now
		}
		c.Charge = min(MaxCharge, c.Charge+s.cat.Companions.CellCharge)
		c.Mood = min(MaxMood, c.Mood+5)
		return CompanionResult{}, nil
	})
}

// EquipCosmetic puts one of user's skins or chassis (item) on companion
// ref; the one it wore in that slot goes back to the inventory.
func (s *Service) EquipCosmetic(ctx context.Context, op Op, user int64, ref, item string) (CompanionResult, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return CompanionResult{}, ErrUnknownItem
	}
	if it.Type != TypeSkin && it.Type != TypeChassis {
		return CompanionResult{}, ErrNotCosmetic
	}
	return s.companionOp(ctx, "companion_equip", op, user, ref, func(ctx context.Context, t *txn, c *Companion) (CompanionResult, error) {
		if c.Stasis {
			return CompanionResult{}, idle(*c)
		}
		slot := &c.Skin
		if it.Type == TypeChassis {
			slot = &c.Chassis
		}
		if *slot == it.Key {
			return CompanionResult{}, ErrNotCosmetic.Withf("%s already wears the %s.", c.Name, it.Name)
		}
		if _, err := t.takeItems(ctx, user, it.Key, 1); err != nil {
			return CompanionResult{}, ErrNotEnoughItems.Withf("You have no %s; see /shop.", it.Name)
		}
		t.items(user, it.Key, -1, "equip")
		var res CompanionResult
		if *slot != "" {
			if err := t.returnItem(ctx, user, *slot); err != nil {
				return CompanionResult{}, err
			}
			res.Returned = []string{*slot}
		}
		*slot = it.Key
		t.memo = fmt.Sprintf("%s wears %s", c.Name, it.Name)
		return res, nil
	})
}

// returnItem gives user one item of key back (an unequipped cosmetic).
func (t *txn) returnItem(ctx context.Context, user int64, key string) error {
	return t.giveItem(ctx, user, key, "unequip")
}

// giveItem creates one item of key for user, with its item leg.
func (t *txn) giveItem(ctx context.Context, user int64, key, reason string) error {
	if _, err := t.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key, acquired_at) VALUES ($1, $2, $3)`, user, key, t.now); err != nil {
		return fmt.Errorf("give item: %w", err)
	}
	t.items(user, key, 1, reason)
	return nil
}

// ReleaseCompanion lets user's companion ref go for good; what it wore
// goes back to the inventory. A companion in stasis or a battle cannot be
// released.
func (s *Service) ReleaseCompanion(ctx context.Context, op Op, user int64, ref string) (CompanionResult, error) {
	if err := s.companionsOn(); err != nil {
		return CompanionResult{}, err
	}
	var r CompanionResult
	_, err := s.mutate(ctx, "companion_release", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		c, err := t.lockCompanion(ctx, user, ref)
		if err != nil {
			return nil, err
		}
		if err := idle(c); err != nil {
			return nil, err
		}
		res := CompanionResult{Companion: c}
		for _, k := range []string{c.Skin, c.Chassis} {
			if k != "" {
				if err := t.returnItem(ctx, user, k); err != nil {
					return nil, err
				}
				res.Returned = append(res.Returned, k)
			}
		}
		if _, err := t.Exec(ctx, `DELETE FROM economy.companions WHERE id = $1`, c.ID); err != nil {
			return nil, fmt.Errorf("release: %w", err)
		}
		t.memo = "release " + c.Name
		return res, nil
	})
	return r, err
}

// Helper is the companion whose skill raised a /work or /gather, and by
// how much (percent).
type Helper struct {
	Companion string `json:"companion,omitempty"`
	Skill     string `json:"skill,omitempty"`
	Percent   int64  `json:"percent,omitempty"`
}

// companionHelp finds the best skill of the effect want among user's
// companions that are awake and charged; zero when none helps.
func (t *txn) companionHelp(ctx context.Context, user int64, want func(*SkillSpec) int64) (Helper, error) {
	var h Helper
	if len(t.s.cat.Companions.Models) == 0 {
		return h, nil
	}
	rows, err := t.Query(ctx, `SELECT `+companionColumns+` FROM economy.companions
		WHERE owner_id = $1 AND stasis_since IS NULL AND cardinality(skills) > 0 ORDER BY id`, user)
	if err != nil {
		return h, fmt.Errorf("companion help: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanCompanion(rows)
		if err != nil {
			return h, fmt.Errorf("companion help: %w", err)
		}
		t.s.fresh(&c, t.now)
		m, ok := t.s.cat.Model(c.Model)
		if !ok || c.Charge == 0 {
			continue
		}
		for _, k := range c.Skills {
			if sk, ok := m.Skill(k); ok && want(sk) > h.Percent {
				h = Helper{Companion: c.Name, Skill: sk.Name, Percent: want(sk)}
			}
		}
	}
	return h, rows.Err()
}

func workSkill(s *SkillSpec) int64   { return s.WorkPay }
func gatherSkill(s *SkillSpec) int64 { return s.GatherLuck }
