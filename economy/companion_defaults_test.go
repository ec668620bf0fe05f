package economy

import (
	"testing"
)

// The companion game's defaults as issue 19 sets them: at least six
// models, each with a rarity and base stats and a skill tree; a Companion
// Capsule sold in the shop and found, rarely, by /gather; ten companions a
// player; a challenge open for 60 s and 30 s a move; a house fee; skins and
// chassis in the shop and rarer ones only won.
func TestDefaultCompanionGame(t *testing.T) {
	c := DefaultCatalog()
	r := c.Companions
	if len(r.Models) < 6 {
		t.Errorf("%d models, want at least 6", len(r.Models))
	}
	rarities := map[string]bool{}
	for _, m := range r.Models {
		rarities[m.Rarity] = true
		if _, ok := c.RarityRank(m.Rarity); !ok || m.Stats.Power < 1 || m.Stats.Speed < 1 || m.Stats.Focus < 1 || m.Stats.Charm < 1 {
			t.Errorf("model %s: rarity %q, stats %+v", m.Key, m.Rarity, m.Stats)
		}
		effects := map[string]bool{}
		for _, sk := range m.Skills {
			switch {
			case sk.WorkPay > 0:
				effects["work"] = true
			case sk.GatherLuck > 0:
				effects["gather"] = true
			case sk.Move != nil:
				effects["move"] = true
			}
		}
		if len(m.Skills) < 3 || !effects["move"] || !effects["work"] && !effects["gather"] {
			t.Errorf("model %s: skill tree %+v lacks a move or a work or gather skill", m.Key, m.Skills)
		}
	}
	if len(rarities) < 3 {
		t.Errorf("models of %d rarities", len(rarities))
	}
	if r.MaxOwned != 10 {
		t.Errorf("max_owned %d, want 10", r.MaxOwned)
	}
	shop := map[string]*Item{}
	for _, it := range c.Shop() {
		shop[it.Key] = it
	}
	if it := shop["companion_capsule"]; it == nil || it.Type != TypeCapsule {
		t.Errorf("no Companion Capsule in the shop")
	}
	if r.GatherCapsule != "companion_capsule" || r.GatherCapsulePerMille <= 0 || r.GatherCapsulePerMille > 50 {
		t.Errorf("/gather finds %q %d‰ of the time: want a rare capsule find", r.GatherCapsule, r.GatherCapsulePerMille)
	}
	if b := r.Battle; b.ChallengeSeconds != 60 || b.MoveSeconds != 30 || b.FeePercent <= 0 || b.WinXP <= 0 || b.LossXP <= 0 {
		t.Errorf("battle rule %+v: want 60 s challenges, 30 s moves, a fee and XP to both", b)
	}
	if tr := r.Train; tr.Cost <= 0 || tr.Charge <= 0 || tr.CooldownSeconds <= 0 || tr.XP <= 0 {
		t.Errorf("train rule %+v: want credits, charge, a cooldown and XP", tr)
	}
	if b := r.Breed; b.MinLevel < 2 || b.Cost <= 0 || b.CooldownSeconds <= 0 || b.MutationPercent <= 0 {
		t.Errorf("breed rule %+v: want a level, a cost, a cooldown and a mutation chance", b)
	}
	sold, won := map[string]bool{}, map[string]bool{}
	for _, it := range c.Cosmetics() {
		if it.Price > 0 {
			sold[it.Type] = true
		} else {
			won[it.Type] = true
		}
	}
	if !sold[TypeSkin] || !sold[TypeChassis] || len(won) == 0 || len(r.Prizes) == 0 {
		t.Errorf("cosmetics: sold %v, only found or won %v, prizes %v", sold, won, r.Prizes)
	}
}

// Battle damage: an attack hurts more with the attacker's power and level
// and less against the defender's focus and level, never less than 1; the
// hit chance stays within 30-100%, the critical chance at most 25%.
func TestBattleDamage(t *testing.T) {
	mv := BattleMove{Kind: MoveAttack, Power: 10, Accuracy: 90}
	f := func(level, power, speed, focus, charm int) Fighter {
		return Fighter{Level: level, Stats: Stats{Power: power, Speed: speed, Focus: focus, Charm: charm}}
	}
	mid := f(5, 6, 6, 6, 6)
	tests := []struct {
		name string
		a, d Fighter
		mv   BattleMove
		want int
	}{
		// 10 × (20 + 2·6 + 5) / (20 + 6 + 5) = 370 / 31 = 11
		{"even", mid, mid, mv, 11},
		{"stronger attacker", f(5, 12, 6, 6, 6), mid, mv, 15},     // 10·49/31
		{"higher level attacker", f(15, 6, 6, 6, 6), mid, mv, 15}, // 10·47/31
		{"focused defender", mid, f(5, 6, 6, 16, 6), mv, 9},       // 10·37/41
		{"a big move", mid, mid, BattleMove{Kind: MoveAttack, Power: 30, Accuracy: 90}, 35},
		{"never below 1", f(1, 1, 1, 1, 1), f(50, 1, 1, 200, 1), BattleMove{Kind: MoveAttack, Power: 1, Accuracy: 90}, 1},
	}
	for _, tc := range tests {
		if got := attackDamage(tc.mv, tc.a, tc.d); got != tc.want {
			t.Errorf("%s: attackDamage = %d, want %d", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		a, d Fighter
		want int
	}{
		{"even", mid, mid, 90},
		{"focus against speed", f(5, 6, 6, 9, 6), f(5, 6, 4, 6, 6), 100},
		{"a fast defender", mid, f(5, 6, 16, 6, 6), 70},
		{"floor", f(1, 1, 1, 1, 1), f(1, 1, 100, 1, 1), 30},
	} {
		if got := hitChance(mv, tc.a, tc.d); got != tc.want {
			t.Errorf("%s: hitChance = %d, want %d", tc.name, got, tc.want)
		}
	}
	for charm, want := range map[int]int{1: 2, 6: 12, 12: 24, 13: 25, 40: 25} {
		if got := critChance(f(1, 1, 1, 1, charm)); got != want {
			t.Errorf("charm %d: critChance = %d, want %d", charm, got, want)
		}
	}
	if got := maxHP(f(5, 6, 6, 6, 6)); got != 60+25+18 {
		t.Errorf("maxHP = %d", got)
	}
}
