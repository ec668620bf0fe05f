package economy

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestDecay(t *testing.T) {
	t0 := day("2026-12-07T12:00:00Z")
	step := 30 * time.Minute
	tests := []struct {
		name    string
		v       int
		elapsed time.Duration
		stasis  bool
		want    int
		since   time.Duration // of the returned time, after t0
	}{
		{"no time", 80, 0, false, 80, 0},
		{"less than a step", 80, 29 * time.Minute, false, 80, 0},
		{"one step", 80, 30 * time.Minute, false, 79, 30 * time.Minute},
		{"partial step is kept", 80, 75 * time.Minute, false, 78, 60 * time.Minute},
		{"a day", 80, 24 * time.Hour, false, 32, 24 * time.Hour},
		{"empties and restarts the clock", 10, 24 * time.Hour, false, 0, 24 * time.Hour},
		{"exactly empty", 2, 60 * time.Minute, false, 0, 60 * time.Minute},
		{"stasis freezes", 80, 240 * time.Hour, true, 80, 0},
		{"clock behind", 80, -time.Hour, false, 80, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, since := decay(tc.v, t0, t0.Add(tc.elapsed), step, tc.stasis)
			if v != tc.want || !since.Equal(t0.Add(tc.since)) {
				t.Errorf("decay = %d at +%v, want %d at +%v", v, since.Sub(t0), tc.want, tc.since)
			}
		})
	}
}

// Touching a companion often must not slow its decay: stepping minute by
// minute ends where one long step does.
func TestDecayDoesNotDriftWhenTouchedOften(t *testing.T) {
	t0 := day("2026-12-07T12:00:00Z")
	step := 30 * time.Minute
	v, since := 100, t0
	for m := 1; m <= 24*60; m += 7 {
		v, since = decay(v, since, t0.Add(time.Duration(m)*time.Minute), step, false)
	}
	end := t0.Add(24 * time.Hour)
	v, _ = decay(v, since, end, step, false)
	once, _ := decay(100, t0, end, step, false)
	if v != once || once != 100-48 {
		t.Errorf("touched often: %d; once: %d; want %d", v, once, 52)
	}
}

func TestXPCurve(t *testing.T) {
	tests := []struct {
		xp    int64
		level int
	}{
		{0, 1}, {99, 1}, {100, 2}, {299, 2}, {300, 3}, {600, 4}, {1000, 5}, {4500, 10}, {1 << 40, 50},
	}
	for _, tc := range tests {
		if got := levelFor(tc.xp, 50); got != tc.level {
			t.Errorf("levelFor(%d) = %d, want %d", tc.xp, got, tc.level)
		}
	}
	for l := 1; l < 50; l++ {
		step, next := xpForLevel(l+1)-xpForLevel(l), xpForLevel(l+2)-xpForLevel(l+1)
		if next-step != 100 {
			t.Fatalf("level %d: steps %d then %d, want 100 more each level", l, step, next)
		}
		if levelFor(xpForLevel(l), 50) != l || levelFor(xpForLevel(l+1)-1, 50) != l {
			t.Fatalf("level %d: the curve and levelFor disagree", l)
		}
	}
}

func TestSkillPoints(t *testing.T) {
	for _, tc := range []struct{ level, points int }{{0, 0}, {1, 0}, {2, 1}, {9, 8}, {10, 10}, {20, 21}, {50, 54}} {
		if got := skillPoints(tc.level); got != tc.points {
			t.Errorf("skillPoints(%d) = %d, want %d", tc.level, got, tc.points)
		}
	}
}

func TestCanLearn(t *testing.T) {
	c := DefaultCatalog()
	scout, _ := c.Model("scout")
	tests := []struct {
		name   string
		level  int
		learnt []string
		skill  string
		want   error
	}{
		{"first skill", 2, nil, "afterburner", nil},
		{"unknown", 10, nil, "railgun", ErrUnknownSkill},
		{"already known", 5, []string{"afterburner"}, "afterburner", ErrSkillKnown},
		{"below its level", 2, nil, "survey", ErrSkillLocked},
		{"prerequisite missing", 9, nil, "evasive", ErrSkillLocked},
		{"prerequisite met", 6, []string{"afterburner"}, "evasive", nil},
		{"no points left", 3, []string{"afterburner", "survey"}, "evasive", ErrSkillLocked},
		{"points spent", 6, []string{"afterburner", "survey", "evasive"}, "scavenger", ErrSkillLocked},
		{"enough points", 10, []string{"afterburner", "survey", "evasive"}, "scavenger", nil},
	}
	costly := &ModelSpec{Name: "Costly", Skills: []SkillSpec{{Key: "big", Name: "Big", Cost: 3, Level: 2}}}
	if _, err := canLearn(costly, 3, nil, "big"); !errors.Is(err, ErrNoSkillPoints) {
		t.Errorf("3 points needed, 2 free: %v", err)
	}
	if _, err := canLearn(costly, 4, nil, "big"); err != nil {
		t.Errorf("3 points needed, 3 free: %v", err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := canLearn(scout, tc.level, tc.learnt, tc.skill)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("canLearn = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSkillBonusAndTraining(t *testing.T) {
	c := DefaultCatalog()
	worker, _ := c.Model("worker")
	work := func(s *SkillSpec) int64 { return s.WorkPay }
	luck := func(s *SkillSpec) int64 { return s.GatherLuck }
	if got := skillBonus(worker, nil, work); got != 0 {
		t.Errorf("no skills: %d", got)
	}
	if got := skillBonus(worker, []string{"overtime", "hammer"}, work); got != 10 {
		t.Errorf("overtime: %d, want 10", got)
	}
	if got := skillBonus(worker, []string{"overtime", "union_rep"}, work); got != 25 {
		t.Errorf("best of two: %d, want 25", got)
	}
	if got := skillBonus(worker, []string{"overtime"}, luck); got != 0 {
		t.Errorf("work skill gave luck %d", got)
	}
	r := c.Companions.Train
	if got := trainGain(r, Stats{Focus: 6}, 80); got != r.XP+6 {
		t.Errorf("trainGain = %d", got)
	}
	if got := trainGain(r, Stats{Focus: 6}, 10); got != (r.XP+6)/2 {
		t.Errorf("a sulking companion: trainGain = %d", got)
	}
}

// Every stat of an offspring is within its parents' bounds widened by the
// variation, and at least 1; the generation is one past the older parent.
func TestBreedInheritanceProperty(t *testing.T) {
	c := DefaultCatalog()
	v := c.Companions.Breed.Variation
	rng := rand.New(rand.NewPCG(7, 7))
	stat := func() int { return 1 + rng.IntN(20) }
	for i := 0; i < 10000; i++ {
		a := Parent{Model: "scout", Stats: Stats{stat(), stat(), stat(), stat()}, Generation: rng.IntN(5) + 1}
		b := Parent{Model: "titan", Stats: Stats{stat(), stat(), stat(), stat()}, Generation: rng.IntN(5) + 1}
		seed := rng.Uint64()
		o := c.breed(a, b, seed)
		pairs := [][3]int{
			{a.Stats.Power, b.Stats.Power, o.Stats.Power},
			{a.Stats.Speed, b.Stats.Speed, o.Stats.Speed},
			{a.Stats.Focus, b.Stats.Focus, o.Stats.Focus},
			{a.Stats.Charm, b.Stats.Charm, o.Stats.Charm},
		}
		for _, p := range pairs {
			lo, hi := max(1, min(p[0], p[1])-v), max(p[0], p[1])+v
			if p[2] < lo || p[2] > hi {
				t.Fatalf("seed %d: stat %d outside parents %d, %d ± %d", seed, p[2], p[0], p[1], v)
			}
		}
		if o.Generation != max(a.Generation, b.Generation)+1 {
			t.Fatalf("generation %d from %d and %d", o.Generation, a.Generation, b.Generation)
		}
		if !o.Mutated && o.Model != a.Model && o.Model != b.Model {
			t.Fatalf("model %q from %q and %q without a mutation", o.Model, a.Model, b.Model)
		}
		if o.Mutated && (o.Model == a.Model || o.Model == b.Model) {
			t.Fatalf("mutated into a parent's model %q", o.Model)
		}
		if again := c.breed(a, b, seed); again != o {
			t.Fatalf("seed %d: %+v then %+v", seed, o, again)
		}
	}
}

// The mutation rate over 10,000 seeds is the catalogue's percentage within
// a tolerance (five standard deviations of a binomial).
func TestBreedMutationRate(t *testing.T) {
	c := DefaultCatalog()
	p := float64(c.Companions.Breed.MutationPercent) / 100
	const n = 10000
	a := Parent{Model: "scout", Stats: Stats{5, 5, 5, 5}, Generation: 1}
	b := Parent{Model: "worker", Stats: Stats{6, 6, 6, 6}, Generation: 1}
	mutated := 0
	for seed := uint64(0); seed < n; seed++ {
		if c.breed(a, b, seed).Mutated {
			mutated++
		}
	}
	tol := 5 * sqrt(n*p*(1-p))
	if got := float64(mutated); got < n*p-tol || got > n*p+tol {
		t.Errorf("%d mutations in %d, want %.0f ± %.0f", mutated, n, n*p, tol)
	}
}

func sqrt(x float64) float64 {
	z := x
	for i := 0; i < 50; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func TestRollStatsAndDrawModel(t *testing.T) {
	c := DefaultCatalog()
	rng := rand.New(rand.NewPCG(1, 1))
	base := Stats{Power: 1, Speed: 9, Focus: 5, Charm: 5}
	for i := 0; i < 1000; i++ {
		s := rollStats(base, 2, rng)
		if s.Power < 1 || s.Power > 3 || s.Speed < 7 || s.Speed > 11 {
			t.Fatalf("rollStats = %+v", s)
		}
	}
	counts := map[string]int{}
	for i := 0; i < 20000; i++ {
		counts[c.drawModel(0, rng).Rarity]++
	}
	if counts["common"] < counts["uncommon"] || counts["uncommon"] < counts["rare"] || counts["mythic"] == 0 {
		t.Errorf("draws by rarity: %v", counts)
	}
	lucky := map[string]int{}
	for i := 0; i < 20000; i++ {
		lucky[c.drawModel(300, rng).Rarity]++
	}
	if lucky["legendary"]+lucky["mythic"] <= counts["legendary"]+counts["mythic"] {
		t.Errorf("luck did not raise rare draws: %v vs %v", lucky, counts)
	}
}

func testFighters(c *Catalog) [2]Fighter {
	titan, _ := c.Model("titan")
	medic, _ := c.Model("medic")
	return [2]Fighter{
		{Name: "Tank", Model: "titan", Level: 5, Stats: titan.Stats,
			Moves: fighterMoves(c.Companions.Basic, titan, []string{"slam", "bulwark"})},
		{Name: "Doc", Model: "medic", Level: 6, Stats: medic.Stats,
			Moves: fighterMoves(c.Companions.Basic, medic, []string{"patch", "scalpel"})},
	}
}

// runBattle plays a battle where each side picks moves from pick.
func runBattle(t *testing.T, c *Catalog, seed uint64, f [2]Fighter, pick func(st BattleState) (int, bool)) BattleState {
	t.Helper()
	st := startBattle(seed, f)
	for i := 0; !st.Over; i++ {
		if i > 1000 {
			t.Fatal("battle never ends")
		}
		mv, auto := pick(st)
		var err error
		st, err = play(st, f, st.Side, mv, auto, c.Companions.Battle.MaxTurns)
		if err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestBattleDeterminism(t *testing.T) {
	c := DefaultCatalog()
	f := testFighters(c)
	pick := func(st BattleState) (int, bool) { return (st.Turn * 7) % len(f[st.Side].Moves), false }
	wins := [2]int{}
	for seed := uint64(0); seed < 200; seed++ {
		a := runBattle(t, c, seed, f, pick)
		b := runBattle(t, c, seed, f, pick)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d: two runs differ:\n%+v\n%+v", seed, a, b)
		}
		if a.Winner != 0 && a.Winner != 1 {
			t.Fatalf("seed %d: winner %d", seed, a.Winner)
		}
		wins[a.Winner]++
		// Replaying the recorded moves gives the same battle.
		replay := startBattle(seed, f)
		for _, m := range a.Moves {
			var err error
			if replay, err = play(replay, f, m.Side, m.Move, m.Auto, c.Companions.Battle.MaxTurns); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(replay, a) {
			t.Fatalf("seed %d: replay differs", seed)
		}
	}
	if wins[0] == 0 || wins[1] == 0 {
		t.Errorf("one side always wins: %v", wins)
	}
}

func TestBattlePlay(t *testing.T) {
	c := DefaultCatalog()
	f := testFighters(c)
	max := c.Companions.Battle.MaxTurns
	st := startBattle(1, f)
	if st.Side != 1 { // the medic is faster
		t.Fatalf("faster side does not start: %d", st.Side)
	}
	if _, err := play(st, f, 0, 0, false, max); !errors.Is(err, ErrNotYourTurn) {
		t.Errorf("out of turn: %v", err)
	}
	if _, err := play(st, f, 1, 9, false, max); !errors.Is(err, ErrUnknownMove) {
		t.Errorf("unknown move: %v", err)
	}
	// A guard halves the next hit.
	g, _ := play(st, f, 1, 0, false, max)
	g.Guard[1] = 50
	seedHit := g
	hit, _ := play(seedHit, f, 0, 1, false, max)
	seedHit.Guard[1] = 0
	plain, _ := play(seedHit, f, 0, 1, false, max)
	lostGuarded, lostPlain := g.HP[1]-hit.HP[1], g.HP[1]-plain.HP[1]
	if lostPlain > 0 && (lostGuarded >= lostPlain || hit.Guard[1] != 0) {
		t.Errorf("guarded hit %d, plain %d (guard left %d)", lostGuarded, lostPlain, hit.Guard[1])
	}
	// A heal never passes the maximum.
	healed, _ := play(st, f, 1, 1, false, max)
	if healed.HP[1] != healed.MaxHP[1] {
		t.Errorf("heal at full HP: %d/%d", healed.HP[1], healed.MaxHP[1])
	}
	// The first missed turn is an automatic basic move; the second forfeits.
	a1, _ := play(st, f, 1, 0, true, max)
	if a1.Over || a1.Misses[1] != 1 || a1.Side != 0 {
		t.Fatalf("first miss: %+v", a1)
	}
	a2, _ := play(a1, f, 0, 0, false, max)
	a3, _ := play(a2, f, 1, 0, true, max)
	if !a3.Over || a3.Winner != 0 || a3.Reason != "forfeit" {
		t.Fatalf("second miss: %+v", a3)
	}
	if _, err := play(a3, f, 0, 0, false, max); !errors.Is(err, ErrBattleOver) {
		t.Errorf("move after the end: %v", err)
	}
	// The turn bound ends a battle of guards on hit points.
	guards := runBattle(t, c, 3, f, func(st BattleState) (int, bool) {
		if st.Side == 0 {
			return 2, false // bulwark
		}
		return 1, false // patch
	})
	if guards.Reason != "turns" || guards.Turn != max || guards.Winner != 1 {
		t.Errorf("turn bound: %+v", guards)
	}
}

func TestBattlePayout(t *testing.T) {
	for _, tc := range []struct{ wager, fee, winner, house int64 }{
		{0, 5, 0, 0}, {100, 5, 190, 10}, {1, 5, 2, 0}, {1000000, 5, 1900000, 100000}, {500, 0, 1000, 0},
	} {
		w, h := battlePayout(tc.wager, tc.fee)
		if w != tc.winner || h != tc.house || w+h != 2*tc.wager {
			t.Errorf("battlePayout(%d, %d) = %d, %d; want %d, %d", tc.wager, tc.fee, w, h, tc.winner, tc.house)
		}
	}
}

func TestBattlePrize(t *testing.T) {
	c := DefaultCatalog()
	r := c.Companions
	won := 0
	const n = 20000
	for seed := uint64(0); seed < n; seed++ {
		p := c.battlePrize(seed, r.PrizeMinWager)
		if p != c.battlePrize(seed, r.PrizeMinWager) {
			t.Fatal("the same battle gave two prizes")
		}
		if p != "" {
			won++
			if it, ok := c.Item(p); !ok || it.Price != 0 {
				t.Fatalf("prize %q is sold in the shop", p)
			}
		}
		if c.battlePrize(seed, r.PrizeMinWager-1) != "" {
			t.Fatal("a prize below the minimum wager")
		}
	}
	want := float64(n) * float64(r.PrizePerMille) / 1000
	if tol := 5 * sqrt(want); float64(won) < want-tol || float64(won) > want+tol {
		t.Errorf("%d prizes in %d battles, want %.0f", won, n, want)
	}
}

func TestIncubationRules(t *testing.T) {
	laid := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	r := BreedRule{IncubationSeconds: 7200}
	ready := eggReadyAt(r, laid)
	if want := laid.Add(2 * time.Hour); !ready.Equal(want) {
		t.Fatalf("ready at %v, want %v", ready, want)
	}
	for _, tc := range []struct {
		name  string
		until *time.Time
		now   time.Time
		busy  bool
	}{
		{"never bred", nil, laid, false},
		{"just laid", &ready, laid, true},
		{"a second before ready", &ready, ready.Add(-time.Second), true},
		{"ready", &ready, ready, false},
		{"long after", &ready, ready.Add(48 * time.Hour), false},
	} {
		if got := breeding(tc.until, tc.now); got != tc.busy {
			t.Errorf("%s: breeding %v, want %v", tc.name, got, tc.busy)
		}
	}
	eggs := []Egg{{ID: 1, ReadyAt: ready}, {ID: 2, ReadyAt: ready.Add(time.Hour)}, {ID: 3, ReadyAt: ready.Add(-time.Hour)}}
	for _, tc := range []struct {
		now            time.Time
		ready, waiting []int64
	}{
		{laid, nil, []int64{1, 2, 3}},
		{ready.Add(-time.Hour), []int64{3}, []int64{1, 2}},
		{ready, []int64{1, 3}, []int64{2}},
		{ready.Add(time.Hour), []int64{1, 2, 3}, nil},
	} {
		r, w := hatchable(eggs, tc.now)
		ids := func(es []Egg) []int64 {
			var out []int64
			for _, e := range es {
				out = append(out, e.ID)
			}
			return out
		}
		if !slices.Equal(ids(r), tc.ready) || !slices.Equal(ids(w), tc.waiting) {
			t.Errorf("at %v: ready %v waiting %v, want %v and %v", tc.now, ids(r), ids(w), tc.ready, tc.waiting)
		}
	}
	// An instant incubation (0 s) is ready when laid.
	if at := eggReadyAt(BreedRule{}, laid); breeding(&at, laid) {
		t.Error("a 0 s incubation keeps the parents busy")
	}
}
