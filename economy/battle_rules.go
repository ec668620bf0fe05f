package economy

import (
	"fmt"
	"math/rand/v2"
)

// Battle rules as pure functions: a battle is its seed plus the moves
// made, so the same seed and the same moves give the same battle on any
// node, and a stored battle can be replayed to audit it.

// Fighter is one side of a battle: a companion as it entered the battle.
type Fighter struct {
	Companion int64        `json:"companion"`
	Owner     int64        `json:"owner"`
	Name      string       `json:"name"`
	Model     string       `json:"model"`
	Level     int          `json:"level"`
	Stats     Stats        `json:"stats"`
	Moves     []BattleMove `json:"moves"` // the basic move first, then learnt move skills
	// Skin and Chassis are the cosmetics the companion wore into the
	// battle, shown with it (item keys; empty for none).
	Skin    string `json:"skin,omitempty"`
	Chassis string `json:"chassis,omitempty"`
}

// BattleState is a battle between side 0 (the challenger) and side 1.
type BattleState struct {
	Seed   uint64     `json:"seed"`
	Turn   int        `json:"turn"` // moves made so far
	Side   int        `json:"side"` // who moves next
	HP     [2]int     `json:"hp"`
	MaxHP  [2]int     `json:"max_hp"`
	Guard  [2]int     `json:"guard"`  // percent taken off the next hit on that side
	Misses [2]int     `json:"misses"` // turns that side let run out
	Log    []string   `json:"log"`    // the last few turns, newest last
	Over   bool       `json:"over"`
	Winner int        `json:"winner"`           // valid when Over
	Reason string     `json:"reason,omitempty"` // "knockout", "forfeit" or "turns"
	Moves  []MoveMade `json:"moves,omitempty"`  // every move, for replay
}

// MoveMade records one move of a battle.
type MoveMade struct {
	Side int  `json:"side"`
	Move int  `json:"move"`
	Auto bool `json:"auto,omitempty"`
}

// logLines is how many turns a battle keeps in its log.
const logLines = 4

// fighterMoves lists the moves of a companion of model m with the learnt
// skills: the basic move, then the move skills in tree order.
func fighterMoves(basic BattleMove, m *ModelSpec, learnt []string) []BattleMove {
	moves := []BattleMove{basic}
	has := map[string]bool{}
	for _, k := range learnt {
		has[k] = true
	}
	for _, sk := range m.Skills {
		if sk.Move != nil && has[sk.Key] {
			mv := *sk.Move
			mv.Key, mv.Name = sk.Key, sk.Name
			moves = append(moves, mv)
		}
	}
	return moves
}

// maxHP is the hit points a fighter enters a battle with.
func maxHP(f Fighter) int { return 60 + 5*f.Level + 3*f.Stats.Focus }

// startBattle sets up a battle: full hit points, and the faster side
// moves first (a tie is decided by the seed).
func startBattle(seed uint64, f [2]Fighter) BattleState {
	st := BattleState{Seed: seed, Winner: -1}
	for i := range f {
		st.MaxHP[i] = maxHP(f[i])
		st.HP[i] = st.MaxHP[i]
	}
	switch {
	case f[0].Stats.Speed > f[1].Stats.Speed:
		st.Side = 0
	case f[1].Stats.Speed > f[0].Stats.Speed:
		st.Side = 1
	default:
		st.Side = int(seed & 1)
	}
	return st
}

// hitChance is the chance in percent that attack mv of a hits d.
func hitChance(mv BattleMove, a, d Fighter) int {
	return min(100, max(30, mv.Accuracy+2*(a.Stats.Focus-d.Stats.Speed)))
}

// attackDamage is the damage of attack mv from a on d before guard and
// critical hits: power scaled by the attacker's power and level against the
// defender's focus and level, at least 1.
func attackDamage(mv BattleMove, a, d Fighter) int {
	return max(1, mv.Power*(20+2*a.Stats.Power+a.Level)/(20+d.Stats.Focus+d.Level))
}

// critChance is the chance in percent of a critical hit (×1.5): two per
// point of charm, at most 25.
func critChance(a Fighter) int { return min(25, 2*a.Stats.Charm) }

// play makes move (an index into the mover's moves) for side; auto marks
// the move the game made for a side whose time ran out, which counts a
// miss: the second miss forfeits instead of moving. maxTurns bounds the
// battle: then the side with the larger share of its hit points wins
// (a tie goes to side 1, the challenged). It returns the new state; st is
// not changed.
func play(st BattleState, f [2]Fighter, side, move int, auto bool, maxTurns int) (BattleState, error) {
	switch {
	case st.Over:
		return st, ErrBattleOver
	case side != st.Side:
		return st, ErrNotYourTurn
	case move < 0 || move >= len(f[side].Moves):
		return st, ErrUnknownMove
	}
	st.Log = append([]string(nil), st.Log...)
	st.Moves = append(append([]MoveMade(nil), st.Moves...), MoveMade{Side: side, Move: move, Auto: auto})
	other := 1 - side
	a, d := f[side], f[other]
	if auto {
		st.Misses[side]++
		if st.Misses[side] >= 2 {
			st.Over, st.Winner, st.Reason = true, other, "forfeit"
			st.log(fmt.Sprintf("%s missed a second turn and forfeits.", a.Name))
			return st, nil
		}
	}
	rng := rand.New(rand.NewPCG(st.Seed, uint64(st.Turn)))
	mv := a.Moves[move]
	prefix := a.Name + " uses " + mv.Name
	if auto {
		prefix = a.Name + " hesitates; auto-" + mv.Name
	}
	switch mv.Kind {
	case MoveAttack:
		if rng.IntN(100) >= hitChance(mv, a, d) {
			st.log(prefix + ": it misses!")
			break
		}
		dmg := attackDamage(mv, a, d)
		crit := rng.IntN(100) < critChance(a)
		if crit {
			dmg = dmg * 3 / 2
		}
		if g := st.Guard[other]; g > 0 {
			dmg = max(1, dmg-dmg*g/100)
			st.Guard[other] = 0
		}
		st.HP[other] = max(0, st.HP[other]-dmg)
		line := fmt.Sprintf("%s: %d damage", prefix, dmg)
		if crit {
			line += " (critical!)"
		}
		st.log(line + ".")
	case MoveHeal:
		heal := min(st.MaxHP[side]-st.HP[side], st.MaxHP[side]*mv.Power/100)
		st.HP[side] += heal
		st.log(fmt.Sprintf("%s: +%d HP.", prefix, heal))
	case MoveGuard:
		st.Guard[side] = mv.Power
		st.log(fmt.Sprintf("%s: the next hit is %d%% weaker.", prefix, mv.Power))
	}
	st.Turn++
	st.Side = other
	switch {
	case st.HP[other] == 0:
		st.Over, st.Winner, st.Reason = true, side, "knockout"
	case st.Turn >= maxTurns:
		st.Over, st.Reason = true, "turns"
		// Compare HP shares without division: HP0/Max0 > HP1/Max1.
		if st.HP[0]*st.MaxHP[1] > st.HP[1]*st.MaxHP[0] {
			st.Winner = 0
		} else {
			st.Winner = 1
		}
	}
	return st, nil
}

func (st *BattleState) log(line string) {
	st.Log = append(st.Log, line)
	if len(st.Log) > logLines {
		st.Log = st.Log[len(st.Log)-logLines:]
	}
}

// battlePayout splits the pot of two wagers: the winner's share and the
// house fee (a sink), fee percent of the pot rounded down.
func battlePayout(wager, feePercent int64) (winner, fee int64) {
	pot := 2 * wager
	fee = pot * feePercent / 100
	return pot - fee, fee
}
