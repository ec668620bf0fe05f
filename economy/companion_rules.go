package economy

import (
	"hash/fnv"
	"math/rand/v2"
	"time"
)

// The companion game's rules as pure functions, like rules.go: no
// database, no clock, and randomness only from a seed or a draw passed in.

// MaxCharge and MaxMood bound a companion's charge and mood.
const (
	MaxCharge = 100
	MaxMood   = 100
)

// decay returns a gauge (charge or mood) that was v at since, after the
// whole steps of real time up to now, and the time those steps end at:
// one point per step, never below 0. Storing the returned time instead of
// now keeps the part of a step already elapsed, so touching a companion
// often does not slow its decay. A companion in stasis does not decay:
// the caller passes stasis and the gauge and time stay as they were.
func decay(v int, since, now time.Time, step time.Duration, stasis bool) (int, time.Time) {
	if stasis || step <= 0 || !now.After(since) {
		return v, since
	}
	steps := int64(now.Sub(since) / step)
	if steps <= 0 {
		return v, since
	}
	if steps >= int64(v) {
		// Empty: nothing more to lose, the clock restarts now.
		return 0, now
	}
	return v - int(steps), since.Add(time.Duration(steps) * step)
}

// xpForLevel is the total XP needed to reach level (level 1 needs none):
// 50·L·(L−1), so each level takes 100 XP more than the one before.
func xpForLevel(level int) int64 {
	if level <= 1 {
		return 0
	}
	l := int64(level)
	return 50 * l * (l - 1)
}

// levelFor is the level a companion with xp has, capped at maxLevel.
func levelFor(xp int64, maxLevel int) int {
	l := 1
	for l < maxLevel && xp >= xpForLevel(l+1) {
		l++
	}
	return l
}

// skillPoints is the skill points a companion of level has earned: one per
// level after the first, and a bonus one at every tenth level.
func skillPoints(level int) int {
	if level < 1 {
		return 0
	}
	return level - 1 + level/10
}

// spentPoints is the skill points the learnt skills of m cost.
func spentPoints(m *ModelSpec, learnt []string) int {
	n := 0
	for _, k := range learnt {
		if sk, ok := m.Skill(k); ok {
			n += sk.Cost
		}
	}
	return n
}

// canLearn checks that a companion of model m at level with the learnt
// skills may learn skill: the skill exists, is not learnt, its level and
// prerequisite are met and enough points are free.
func canLearn(m *ModelSpec, level int, learnt []string, skill string) (*SkillSpec, error) {
	sk, ok := m.Skill(skill)
	if !ok {
		return nil, ErrUnknownSkill.Withf("%s has no skill %q; see /companion skills.", m.Name, skill)
	}
	has := map[string]bool{}
	for _, k := range learnt {
		has[k] = true
	}
	switch {
	case has[sk.Key]:
		return nil, ErrSkillKnown
	case level < sk.Level:
		return nil, ErrSkillLocked.Withf("%s unlocks at level %d.", sk.Name, sk.Level)
	case sk.Requires != "" && !has[sk.Requires]:
		req, _ := m.Skill(sk.Requires)
		return nil, ErrSkillLocked.Withf("Learn %s first.", req.Name)
	case skillPoints(level)-spentPoints(m, learnt) < sk.Cost:
		return nil, ErrNoSkillPoints.Withf("%s costs %d skill point(s); %d free.", sk.Name, sk.Cost, skillPoints(level)-spentPoints(m, learnt))
	}
	return sk, nil
}

// skillBonus is the best work-pay (or gather-luck) percent among the
// learnt skills of companions, given as (model, learnt skills) pairs; want
// picks the effect.
func skillBonus(m *ModelSpec, learnt []string, want func(*SkillSpec) int64) int64 {
	var best int64
	for _, k := range learnt {
		if sk, ok := m.Skill(k); ok {
			best = max(best, want(sk))
		}
	}
	return best
}

// trainGain is the XP one training session gives: the rule's XP plus one
// per point of focus, lowered by a sulking companion (mood under 25 halves
// it).
func trainGain(r TrainRule, s Stats, mood int) int64 {
	xp := r.XP + int64(s.Focus)
	if mood < 25 {
		xp /= 2
	}
	return xp
}

// seedOf derives a random seed from an operation ID, so that the seed of
// a roll is known to anyone who knows the interaction, and is stored.
func seedOf(op Op) uint64 {
	h := fnv.New64a()
	h.Write([]byte(op))
	return h.Sum64()
}

// rollStats draws a new companion's stats around base, each within
// ±variation and at least 1.
func rollStats(base Stats, variation int, rng *rand.Rand) Stats {
	v := func(x int) int {
		if variation > 0 {
			x += rng.IntN(2*variation+1) - variation
		}
		return max(1, x)
	}
	return Stats{Power: v(base.Power), Speed: v(base.Speed), Focus: v(base.Focus), Charm: v(base.Charm)}
}

// drawModel draws a model by rarity: each rarity tier that has models
// weighs its catalogue weight (rare and better raised by luck percent), then
// a model of the tier uniformly.
func (c *Catalog) drawModel(luck int64, rng *rand.Rand) *ModelSpec {
	rareRank, _ := c.RarityRank("rare")
	tiers := map[string][]*ModelSpec{}
	for i := range c.Companions.Models {
		m := &c.Companions.Models[i]
		tiers[m.Rarity] = append(tiers[m.Rarity], m)
	}
	var total int64
	weights := make([]int64, len(c.Rarities))
	for i, r := range c.Rarities {
		if len(tiers[r.Key]) == 0 {
			continue
		}
		w := r.Weight
		if i >= rareRank {
			w += w * luck / 100
		}
		weights[i] = w
		total += w
	}
	x := rng.Int64N(total)
	for i, w := range weights {
		if x < w {
			ms := tiers[c.Rarities[i].Key]
			return ms[rng.IntN(len(ms))]
		}
		x -= w
	}
	panic("economy: unreachable model draw") // models exist: checked at load
}

// Parent is what breeding reads of a parent.
type Parent struct {
	Model      string
	Stats      Stats
	Generation int
}

// Offspring is the result of breeding.
type Offspring struct {
	Model      string `json:"model"`
	Stats      Stats  `json:"stats"`
	Generation int    `json:"generation"`
	Mutated    bool   `json:"mutated"`
}

// breed decides an offspring from seed alone: each stat is one parent's
// (a coin per stat) plus a variation within ±BreedRule.Variation (at least
// 1); the model is either parent's, or with MutationPercent chance another
// model of the catalogue. The same seed gives the same offspring.
func (c *Catalog) breed(a, b Parent, seed uint64) Offspring {
	r := c.Companions.Breed
	rng := rand.New(rand.NewPCG(seed, 0x62726565))
	pick := func(x, y int) int {
		v := x
		if rng.IntN(2) == 1 {
			v = y
		}
		if r.Variation > 0 {
			v += rng.IntN(2*r.Variation+1) - r.Variation
		}
		return max(1, v)
	}
	o := Offspring{Generation: max(a.Generation, b.Generation) + 1}
	o.Stats = Stats{
		Power: pick(a.Stats.Power, b.Stats.Power),
		Speed: pick(a.Stats.Speed, b.Stats.Speed),
		Focus: pick(a.Stats.Focus, b.Stats.Focus),
		Charm: pick(a.Stats.Charm, b.Stats.Charm),
	}
	o.Model = a.Model
	if rng.IntN(2) == 1 {
		o.Model = b.Model
	}
	if rng.IntN(100) < r.MutationPercent {
		var others []string
		for _, m := range c.Companions.Models {
			if m.Key != a.Model && m.Key != b.Model {
				others = append(others, m.Key)
			}
		}
		if len(others) > 0 {
			o.Model, o.Mutated = others[rng.IntN(len(others))], true
		}
	}
	return o
}

// battlePrize is the cosmetic the winner of a battle with seed and wager
// wins, or "": a chance of PrizePerMille in a thousand, drawn from the
// battle's own seed so that a replay of the battle gives the same prize.
func (c *Catalog) battlePrize(seed uint64, wager int64) string {
	r := c.Companions
	if wager < r.PrizeMinWager || len(r.Prizes) == 0 {
		return ""
	}
	rng := rand.New(rand.NewPCG(seed, 0x7072697a))
	if rng.IntN(1000) >= r.PrizePerMille {
		return ""
	}
	return r.Prizes[rng.IntN(len(r.Prizes))]
}

// breeding reports whether a parent whose egg is ready at until is still
// busy breeding at now.
func breeding(until *time.Time, now time.Time) bool {
	return until != nil && now.Before(*until)
}

// eggReadyAt is when an egg laid at laid hatches under rule r.
func eggReadyAt(r BreedRule, laid time.Time) time.Time {
	return laid.Add(time.Duration(r.IncubationSeconds) * time.Second)
}

// hatchable splits eggs into those ready to hatch at now and those still
// incubating, each in its order.
func hatchable(eggs []Egg, now time.Time) (ready, waiting []Egg) {
	for _, e := range eggs {
		if now.Before(e.ReadyAt) {
			waiting = append(waiting, e)
		} else {
			ready = append(ready, e)
		}
	}
	return ready, waiting
}
