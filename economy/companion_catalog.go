package economy

import (
	"errors"
	"fmt"
)

// Item types of the companion game.
const (
	TypeCapsule = "capsule" // opened with /use: a new companion
	TypeSkin    = "skin"    // cosmetic, equipped on a companion
	TypeChassis = "chassis" // cosmetic, equipped on a companion
	TypeCell    = "cell"    // recharges a companion
)

// Skill effect and move kinds.
const (
	MoveAttack = "attack"
	MoveHeal   = "heal"
	MoveGuard  = "guard"
)

// CompanionRules is the companion game's data: the models with their
// skill trees and the numbers of training, breeding and battles. It lives
// in the catalogue so the game is tuned by editing data.
type CompanionRules struct {
	// MaxOwned is how many companions one user may own.
	MaxOwned int `json:"max_owned"`
	// MaxLevel caps levels (and so skill points).
	MaxLevel int `json:"max_level"`
	// ChargeStepSeconds and MoodStepSeconds: one point of charge (mood) is
	// lost per step of real time while awake.
	ChargeStepSeconds int `json:"charge_step_seconds"`
	MoodStepSeconds   int `json:"mood_step_seconds"`
	// StatVariation is how far a capsule's companion strays from its
	// model's base stats, each way.
	StatVariation int `json:"stat_variation"`
	// CellCharge is the charge a Power Cell restores.
	CellCharge int `json:"cell_charge"`
	// GatherCapsulePerMille is the chance per thousand that a /gather also
	// finds GatherCapsule.
	GatherCapsulePerMille int    `json:"gather_capsule_per_mille"`
	GatherCapsule         string `json:"gather_capsule"`
	// PrizePerMille is the chance per thousand that the winner of a battle
	// with a wager of at least PrizeMinWager wins one of Prizes (cosmetics
	// not sold in the shop).
	PrizePerMille int         `json:"prize_per_mille"`
	PrizeMinWager int64       `json:"prize_min_wager"`
	Prizes        []string    `json:"prizes"`
	Train         TrainRule   `json:"train"`
	Breed         BreedRule   `json:"breed"`
	Battle        BattleRule  `json:"battle"`
	Basic         BattleMove  `json:"basic_move"`
	Models        []ModelSpec `json:"models"`

	models map[string]*ModelSpec
}

// TrainRule sets /companion train: credits and charge paid, XP and mood
// gained, and the companion's cooldown.
type TrainRule struct {
	Cost            int64 `json:"cost"`
	Charge          int   `json:"charge"`
	XP              int64 `json:"xp"`
	Mood            int   `json:"mood"`
	CooldownSeconds int   `json:"cooldown_seconds"`
}

// BreedRule sets /companion breed: the parents' minimum level, the cost,
// the parents' cooldown, how long the egg takes to hatch (the parents are
// busy meanwhile), each stat's variation each way and the chance in
// percent that the offspring mutates into another model.
type BreedRule struct {
	MinLevel          int   `json:"min_level"`
	Cost              int64 `json:"cost"`
	CooldownSeconds   int   `json:"cooldown_seconds"`
	IncubationSeconds int   `json:"incubation_seconds"`
	Variation         int   `json:"variation"`
	MutationPercent   int   `json:"mutation_percent"`
}

// BattleRule sets /battle: the house fee in percent of the pot, XP to the
// winner and the loser, the charge a battle takes, the deadlines, and the
// turn bound after which the healthier side wins.
type BattleRule struct {
	FeePercent       int64 `json:"fee_percent"`
	WinXP            int64 `json:"win_xp"`
	LossXP           int64 `json:"loss_xp"`
	Charge           int   `json:"charge"`
	ChallengeSeconds int   `json:"challenge_seconds"`
	MoveSeconds      int   `json:"move_seconds"`
	MaxTurns         int   `json:"max_turns"`
	MaxWager         int64 `json:"max_wager"`
}

// Stats are a companion's four attributes.
type Stats struct {
	Power int `json:"power"` // damage dealt
	Speed int `json:"speed"` // who moves first, and dodging
	Focus int `json:"focus"` // accuracy, hit points and training XP
	Charm int `json:"charm"` // critical hits and mood
}

// ModelSpec is a companion model: its rarity, base stats and skill tree.
type ModelSpec struct {
	Key         string      `json:"key"`
	Name        string      `json:"name"`
	Rarity      string      `json:"rarity"`
	Description string      `json:"description"`
	Stats       Stats       `json:"stats"`
	Skills      []SkillSpec `json:"skills"`
}

// SkillSpec is one node of a model's skill tree: learnt for Cost skill
// points at Level or above, after Requires (another skill of the model)
// when set. Its effect raises work pay or gather odds, or adds a battle
// move.
type SkillSpec struct {
	Key        string      `json:"key"`
	Name       string      `json:"name"`
	Cost       int         `json:"cost"`
	Level      int         `json:"level"`
	Requires   string      `json:"requires,omitempty"`
	WorkPay    int64       `json:"work_pay,omitempty"`    // percent
	GatherLuck int64       `json:"gather_luck,omitempty"` // percent
	Move       *BattleMove `json:"move,omitempty"`
}

// BattleMove is a move in battle: an attack of Power with Accuracy in
// percent, a heal of Power percent of the maximum hit points, or a guard
// that takes Power percent off the next hit.
type BattleMove struct {
	Key      string `json:"key,omitempty"`
	Name     string `json:"name,omitempty"`
	Kind     string `json:"kind"`
	Power    int    `json:"power"`
	Accuracy int    `json:"accuracy,omitempty"`
}

// Model returns the companion model for key.
func (c *Catalog) Model(key string) (*ModelSpec, bool) {
	m, ok := c.Companions.models[key]
	return m, ok
}

// Skill returns the skill of m with key.
func (m *ModelSpec) Skill(key string) (*SkillSpec, bool) {
	for i := range m.Skills {
		if m.Skills[i].Key == key {
			return &m.Skills[i], true
		}
	}
	return nil, false
}

// Cosmetics lists the skins and chassis in catalogue order.
func (c *Catalog) Cosmetics() []*Item {
	var out []*Item
	for i := range c.Items {
		if t := c.Items[i].Type; t == TypeSkin || t == TypeChassis {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// indexCompanions validates the companion rules and the companion items.
func (c *Catalog) indexCompanions() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("companions: "+format, args...)) }
	r := &c.Companions
	r.models = map[string]*ModelSpec{}
	if len(r.Models) == 0 {
		// A catalogue without the companion game: no companion items either.
		for _, it := range c.Items {
			if it.Type == TypeCapsule || it.Type == TypeSkin || it.Type == TypeChassis || it.Type == TypeCell {
				bad("item %q needs the companion game (no models)", it.Key)
			}
		}
		return errors.Join(errs...)
	}
	if r.MaxOwned <= 0 || r.MaxLevel < 2 || r.ChargeStepSeconds <= 0 || r.MoodStepSeconds <= 0 || r.StatVariation < 0 || r.CellCharge <= 0 {
		bad("max_owned, max_level >= 2, step seconds, cell_charge must be > 0; stat_variation >= 0")
	}
	if t := r.Train; t.Cost < 0 || t.Charge < 0 || t.XP <= 0 || t.CooldownSeconds < 0 {
		bad("train: cost, charge and cooldown >= 0, xp > 0")
	}
	if b := r.Breed; b.MinLevel < 1 || b.Cost < 0 || b.CooldownSeconds < 0 || b.IncubationSeconds < 0 || b.Variation < 0 ||
		b.MutationPercent < 0 || b.MutationPercent > 100 {
		bad("breed: min_level >= 1, cost, cooldown, incubation, variation >= 0, mutation 0-100")
	}
	if b := r.Battle; b.FeePercent < 0 || b.FeePercent > 100 || b.WinXP < 0 || b.LossXP < 0 || b.Charge < 0 ||
		b.ChallengeSeconds <= 0 || b.MoveSeconds <= 0 || b.MaxTurns < 2 || b.MaxWager <= 0 {
		bad("battle: fee 0-100, xp and charge >= 0, deadlines > 0, max_turns >= 2, max_wager > 0")
	}
	if err := checkMove(r.Basic); err != nil || r.Basic.Kind != MoveAttack || r.Basic.Key == "" {
		bad("basic_move must be a keyed attack (%v)", err)
	}
	byRarity := map[string]bool{}
	for i := range r.Models {
		m := &r.Models[i]
		if m.Key == "" || m.Name == "" {
			bad("model %d: needs key and name", i)
		}
		if _, dup := r.models[m.Key]; dup {
			bad("model %q twice", m.Key)
		}
		r.models[m.Key] = m
		if _, ok := c.rarities[m.Rarity]; !ok {
			bad("model %q: unknown rarity %q", m.Key, m.Rarity)
		}
		byRarity[m.Rarity] = true
		if s := m.Stats; s.Power < 1 || s.Speed < 1 || s.Focus < 1 || s.Charm < 1 {
			bad("model %q: stats must be >= 1", m.Key)
		}
		skills := map[string]bool{}
		for _, sk := range m.Skills {
			if sk.Key == "" || sk.Name == "" || sk.Cost < 1 || sk.Level < 1 || sk.Level > r.MaxLevel {
				bad("model %q skill %q: needs key, name, cost >= 1 and a level within max_level", m.Key, sk.Key)
			}
			if skills[sk.Key] || sk.Key == r.Basic.Key {
				bad("model %q: skill %q twice", m.Key, sk.Key)
			}
			if sk.Requires != "" && !skills[sk.Requires] {
				bad("model %q skill %q: requires %q, which must come earlier in the tree", m.Key, sk.Key, sk.Requires)
			}
			skills[sk.Key] = true
			effects := 0
			if sk.WorkPay > 0 {
				effects++
			}
			if sk.GatherLuck > 0 {
				effects++
			}
			if sk.Move != nil {
				effects++
				if err := checkMove(*sk.Move); err != nil {
					bad("model %q skill %q: %v", m.Key, sk.Key, err)
				}
			}
			if effects != 1 || sk.WorkPay < 0 || sk.GatherLuck < 0 {
				bad("model %q skill %q: exactly one effect (work_pay, gather_luck or move)", m.Key, sk.Key)
			}
		}
	}
	if len(r.Models) < 2 {
		bad("at least two models")
	}
	for _, it := range c.Items {
		switch it.Type {
		case TypeCapsule:
			if it.Price <= 0 && it.Effect == nil {
				bad("capsule %q: needs a price", it.Key)
			}
			if it.Effect != nil && (it.Effect.Percent < 0 || it.Effect.Buff != "") {
				bad("capsule %q: its effect is only a luck percent", it.Key)
			}
		case TypeSkin, TypeChassis:
			if _, ok := c.rarities[it.Rarity]; !ok {
				bad("cosmetic %q: unknown rarity %q", it.Key, it.Rarity)
			}
		}
	}
	if r.GatherCapsulePerMille < 0 || r.GatherCapsulePerMille > 1000 || r.PrizePerMille < 0 || r.PrizePerMille > 1000 || r.PrizeMinWager < 0 {
		bad("gather_capsule_per_mille and prize_per_mille are 0-1000, prize_min_wager >= 0")
	}
	if it, ok := c.items[r.GatherCapsule]; r.GatherCapsulePerMille > 0 && (!ok || it.Type != TypeCapsule) {
		bad("gather_capsule %q is not a capsule", r.GatherCapsule)
	}
	for _, k := range r.Prizes {
		if it, ok := c.items[k]; !ok || it.Type != TypeSkin && it.Type != TypeChassis {
			bad("prize %q is not a skin or chassis", k)
		}
	}
	if r.PrizePerMille > 0 && len(r.Prizes) == 0 {
		bad("prize_per_mille needs prizes")
	}
	if len(byRarity) == 0 {
		bad("no models to draw")
	}
	return errors.Join(errs...)
}

func checkMove(m BattleMove) error {
	switch {
	case m.Kind == MoveAttack && (m.Power <= 0 || m.Accuracy <= 0 || m.Accuracy > 100):
		return fmt.Errorf("an attack needs power > 0 and accuracy 1-100")
	case (m.Kind == MoveHeal || m.Kind == MoveGuard) && (m.Power <= 0 || m.Power > 100):
		return fmt.Errorf("a %s needs power 1-100 (percent)", m.Kind)
	case m.Kind != MoveAttack && m.Kind != MoveHeal && m.Kind != MoveGuard:
		return fmt.Errorf("unknown move kind %q", m.Kind)
	}
	return nil
}
