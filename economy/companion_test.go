package economy_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// capsule buys and opens a Companion Capsule for user (funded first).
func (e *env) capsule(t testing.TB, user int64) economy.Companion {
	t.Helper()
	ctx := context.Background()
	e.fund(t, user, 5000)
	if _, err := e.svc.Buy(ctx, op(), user, "companion_capsule", 1); err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.OpenCapsule(ctx, op(), user, "companion_capsule")
	if err != nil {
		t.Fatal(err)
	}
	return r.Companion
}

// setXP sets a companion's XP directly (tests only: levels take days).
func (e *env) setXP(t testing.TB, id, xp int64) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), `UPDATE economy.companions SET xp = $2 WHERE id = $1`, id, xp); err != nil {
		t.Fatal(err)
	}
}

func TestOpenCapsule(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 501
	if _, err := e.svc.OpenCapsule(ctx, op(), user, "companion_capsule"); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("without a capsule: %v", err)
	}
	if _, err := e.svc.OpenCapsule(ctx, op(), user, "coffee"); !errors.Is(err, economy.ErrNotUsable) {
		t.Fatalf("coffee as a capsule: %v", err)
	}
	c := e.capsule(t, user)
	m, ok := e.svc.Catalog().Model(c.Model)
	if !ok || c.Name != m.Name || c.Level != 1 || c.Charge != economy.MaxCharge || c.Owner != user || c.Generation != 1 || c.Seed == 0 {
		t.Fatalf("new companion: %+v", c)
	}
	// A replay returns the same companion and creates nothing.
	e.fund(t, user, 5000)
	e.svc.Buy(ctx, op(), user, "companion_capsule", 1)
	o := op()
	first, err := e.svc.OpenCapsule(ctx, o, user, "companion_capsule")
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.svc.OpenCapsule(ctx, o, user, "companion_capsule")
	if err != nil || again.Companion.ID != first.Companion.ID {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	all, _ := e.svc.Companions(ctx, user)
	if len(all) != 2 {
		t.Fatalf("%d companions, want 2", len(all))
	}
	if first.Companion.Model == c.Model && first.Companion.Name == c.Name {
		t.Errorf("two companions named %q", c.Name)
	}
	e.audit(t)
}

func TestCompanionLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 502
	max := e.svc.Catalog().Companions.MaxOwned
	for i := 0; i < max; i++ {
		e.capsule(t, user)
	}
	e.fund(t, user, 5000)
	e.svc.Buy(ctx, op(), user, "companion_capsule", 1)
	if _, err := e.svc.OpenCapsule(ctx, op(), user, "companion_capsule"); !errors.Is(err, economy.ErrCompanionLimit) {
		t.Fatalf("past the limit: %v", err)
	}
	if inv, _ := e.svc.Inventory(ctx, user, 0); len(inv.Rows) != 1 || inv.Rows[0].Count != 1 {
		t.Errorf("the refused capsule was spent: %+v", inv.Rows)
	}
	e.audit(t)
}

func TestTrainAndLearn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 503
	c := e.capsule(t, user)
	rule := e.svc.Catalog().Companions.Train
	if _, err := e.svc.TrainCompanion(ctx, op(), user, c.Name); !errors.Is(err, economy.ErrInsufficientFunds) {
		t.Fatalf("train without credits: %v", err)
	}
	e.fund(t, user, 10*rule.Cost)
	r, err := e.svc.TrainCompanion(ctx, op(), user, c.Name)
	if err != nil {
		t.Fatal(err)
	}
	if r.XPGained <= 0 || r.Companion.XP != r.XPGained || r.Companion.Charge != economy.MaxCharge-rule.Charge || r.Cost != rule.Cost {
		t.Fatalf("train: %+v", r)
	}
	if _, err := e.svc.TrainCompanion(ctx, op(), user, c.Name); !errors.Is(err, economy.ErrCooldown) {
		t.Fatalf("train on cooldown: %v", err)
	}
	e.clock.Add(time.Duration(rule.CooldownSeconds) * time.Second)
	r, err = e.svc.TrainCompanion(ctx, op(), user, "#"+itoa(c.ID))
	if err != nil || r.Companion.XP != 2*r.XPGained {
		t.Fatalf("second training by id: %+v, %v", r, err)
	}
	// Learning: level 1 has no points; level 2 has one.
	m, _ := e.svc.Catalog().Model(c.Model)
	first := m.Skills[0].Key
	e.setXP(t, c.ID, 99)
	if _, err := e.svc.LearnSkill(ctx, op(), user, c.Name, first); !errors.Is(err, economy.ErrSkillLocked) && !errors.Is(err, economy.ErrNoSkillPoints) {
		t.Fatalf("learn at level 1: %v", err)
	}
	e.setXP(t, c.ID, 100)
	l, err := e.svc.LearnSkill(ctx, op(), user, c.Name, first)
	if err != nil || len(l.Companion.Skills) != 1 || l.Companion.FreePoints != 0 {
		t.Fatalf("learn: %+v, %v", l, err)
	}
	if _, err := e.svc.LearnSkill(ctx, op(), user, c.Name, first); !errors.Is(err, economy.ErrSkillKnown) {
		t.Fatalf("learn twice: %v", err)
	}
	e.audit(t)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestChargeDecaysAndStasisFreezes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 504
	c := e.capsule(t, user)
	step := time.Duration(e.svc.Catalog().Companions.ChargeStepSeconds) * time.Second
	e.clock.Add(10 * step)
	got, _ := e.svc.FindCompanion(ctx, user, c.Name)
	if got.Charge != economy.MaxCharge-10 {
		t.Fatalf("after 10 steps: charge %d", got.Charge)
	}
	if _, err := e.svc.SetStasis(ctx, op(), user, c.Name, true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(100 * step)
	got, _ = e.svc.FindCompanion(ctx, user, c.Name)
	if got.Charge != economy.MaxCharge-10 || !got.Stasis {
		t.Fatalf("in stasis: %+v", got)
	}
	// Every action is refused in stasis.
	e.fund(t, user, 100000)
	e.svc.Buy(ctx, op(), user, "skin_camo", 1)
	for name, call := range map[string]func() error{
		"train":    func() error { _, err := e.svc.TrainCompanion(ctx, op(), user, c.Name); return err },
		"learn":    func() error { _, err := e.svc.LearnSkill(ctx, op(), user, c.Name, "x"); return err },
		"release":  func() error { _, err := e.svc.ReleaseCompanion(ctx, op(), user, c.Name); return err },
		"equip":    func() error { _, err := e.svc.EquipCosmetic(ctx, op(), user, c.Name, "skin_camo"); return err },
		"stasis":   func() error { _, err := e.svc.SetStasis(ctx, op(), user, c.Name, true); return err },
		"rename":   func() error { _, err := e.svc.RenameCompanion(ctx, op(), user, c.Name, "Frosty"); return err },
		"recharge": func() error { _, err := e.svc.RechargeCompanion(ctx, op(), user, c.Name); return err },
		"breed":    func() error { _, err := e.svc.BreedCompanions(ctx, op(), user, c.Name, c.Name); return err },
		"battle": func() error {
			_, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: user, Challenged: 1, Companion: c.Name})
			return err
		},
	} {
		if err := call(); !errors.Is(err, economy.ErrInStasis) {
			t.Errorf("%s in stasis: %v", name, err)
		}
	}
	if _, err := e.svc.SetStasis(ctx, op(), user, c.Name, false); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(step)
	got, _ = e.svc.FindCompanion(ctx, user, c.Name)
	if got.Charge != economy.MaxCharge-11 || got.Stasis {
		t.Fatalf("woken: %+v", got)
	}
	// Empty: no training; a Power Cell recharges.
	e.clock.Add(200 * step)
	if _, err := e.svc.TrainCompanion(ctx, op(), user, c.Name); !errors.Is(err, economy.ErrNoCharge) {
		t.Fatalf("train empty: %v", err)
	}
	if _, err := e.svc.RechargeCompanion(ctx, op(), user, c.Name); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("recharge without a cell: %v", err)
	}
	e.svc.Buy(ctx, op(), user, "power_cell", 1)
	r, err := e.svc.RechargeCompanion(ctx, op(), user, c.Name)
	if err != nil || r.Companion.Charge != e.svc.Catalog().Companions.CellCharge {
		t.Fatalf("recharge: %+v, %v", r, err)
	}
	e.audit(t)
}

func TestRenameEquipRelease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 505
	a := e.capsule(t, user)
	b := e.capsule(t, user)
	for _, bad := range []string{"", "  ", "12345", "#7", "a name that is far too long for a companion", "bad<name>"} {
		if _, err := e.svc.RenameCompanion(ctx, op(), user, a.Name, bad); !errors.Is(err, economy.ErrBadCompanionName) {
			t.Errorf("rename to %q: %v", bad, err)
		}
	}
	if _, err := e.svc.RenameCompanion(ctx, op(), user, a.Name, "Sparky"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.RenameCompanion(ctx, op(), user, b.Name, "sparky"); !errors.Is(err, economy.ErrNameTaken) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := e.svc.RenameCompanion(ctx, op(), 9999, "Sparky", "Mine"); !errors.Is(err, economy.ErrUnknownCompanion) {
		t.Fatalf("rename someone else's: %v", err)
	}
	e.fund(t, user, 100000)
	if _, err := e.svc.EquipCosmetic(ctx, op(), user, "Sparky", "skin_camo"); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("equip without the skin: %v", err)
	}
	if _, err := e.svc.EquipCosmetic(ctx, op(), user, "Sparky", "coffee"); !errors.Is(err, economy.ErrNotCosmetic) {
		t.Fatalf("equip coffee: %v", err)
	}
	e.svc.Buy(ctx, op(), user, "skin_camo", 1)
	e.svc.Buy(ctx, op(), user, "skin_neon", 1)
	e.svc.Buy(ctx, op(), user, "chassis_light", 1)
	for _, k := range []string{"skin_camo", "chassis_light", "skin_neon"} {
		if _, err := e.svc.EquipCosmetic(ctx, op(), user, "sparky", k); err != nil {
			t.Fatalf("equip %s: %v", k, err)
		}
	}
	got, _ := e.svc.FindCompanion(ctx, user, "Sparky")
	if got.Skin != "skin_neon" || got.Chassis != "chassis_light" {
		t.Fatalf("equipped: %+v", got)
	}
	inv, _ := e.svc.Inventory(ctx, user, 0)
	if len(inv.Rows) != 1 || inv.Rows[0].Item != "skin_camo" {
		t.Fatalf("the replaced skin is not back: %+v", inv.Rows)
	}
	r, err := e.svc.ReleaseCompanion(ctx, op(), user, "Sparky")
	if err != nil || len(r.Returned) != 2 {
		t.Fatalf("release: %+v, %v", r, err)
	}
	inv, _ = e.svc.Inventory(ctx, user, 0)
	if inv.Total != 3 {
		t.Fatalf("after release, %d kinds of items, want 3: %+v", inv.Total, inv.Rows)
	}
	if all, _ := e.svc.Companions(ctx, user); len(all) != 1 {
		t.Fatalf("%d companions after release", len(all))
	}
	e.audit(t)
}

func TestBreed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user, other = 506, 507
	a := e.capsule(t, user)
	b := e.capsule(t, user)
	x := e.capsule(t, other)
	rule := e.svc.Catalog().Companions.Breed
	if _, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, b.Name); !errors.Is(err, economy.ErrBreedLevel) {
		t.Fatalf("below the level: %v", err)
	}
	e.setXP(t, a.ID, 1<<20)
	e.setXP(t, b.ID, 1<<20)
	e.setXP(t, x.ID, 1<<20)
	if _, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, "#"+itoa(a.ID)); !errors.Is(err, economy.ErrBreedSelf) {
		t.Fatalf("with itself: %v", err)
	}
	if _, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, "#"+itoa(x.ID)); !errors.Is(err, economy.ErrUnknownCompanion) {
		t.Fatalf("with someone else's: %v", err)
	}
	if _, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, b.Name); !errors.Is(err, economy.ErrInsufficientFunds) {
		t.Fatalf("without the cost: %v", err)
	}
	e.fund(t, user, rule.Cost)
	o := op()
	r, err := e.svc.BreedCompanions(ctx, o, user, a.Name, b.Name)
	if err != nil {
		t.Fatal(err)
	}
	egg := r.Egg
	if egg.Generation != 2 || egg.ParentA != a.ID || egg.ParentB != b.ID || egg.Seed == 0 ||
		!egg.ReadyAt.Equal(e.clock.Now().Add(time.Duration(rule.IncubationSeconds)*time.Second)) {
		t.Fatalf("egg: %+v", egg)
	}
	if e.balance(t, user).Wallet != 0 {
		t.Fatal("the cost was not paid")
	}
	// A replay gives the same egg and nothing new.
	again, err := e.svc.BreedCompanions(ctx, o, user, a.Name, b.Name)
	if err != nil || again.Egg.ID != egg.ID {
		t.Fatalf("replay: %+v, %v", again, err)
	}
	e.fund(t, user, rule.Cost)
	e.clock.Add(time.Duration(rule.IncubationSeconds) * time.Second)
	if _, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, b.Name); !errors.Is(err, economy.ErrCooldown) {
		t.Fatalf("parents on cooldown: %v", err)
	}
	h, err := e.svc.HatchEggs(ctx, op(), user)
	if err != nil || len(h.Hatched) != 1 {
		t.Fatalf("hatch: %+v, %v", h, err)
	}
	child := h.Hatched[0]
	if child.Generation != 2 || child.ParentA != a.ID || child.ParentB != b.ID || child.Seed != egg.Seed ||
		child.Model != egg.Model || child.Stats != egg.Stats {
		t.Fatalf("offspring %+v of egg %+v", child, egg)
	}
	if all, _ := e.svc.Companions(ctx, user); len(all) != 3 {
		t.Fatalf("%d companions", len(all))
	}
	e.audit(t)
}

// Breeding takes time: the egg hatches only once ready, exactly once
// (a second hatch, or two at once on two nodes, finds nothing more), its
// parents are busy until then, and it holds a companion slot meanwhile.
func TestBreedingTakesTime(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const user = 508
	rule := e.svc.Catalog().Companions.Breed
	a := e.capsule(t, user)
	b := e.capsule(t, user)
	e.setXP(t, a.ID, 1<<20)
	e.setXP(t, b.ID, 1<<20)
	e.fund(t, user, rule.Cost+10_000)
	r, err := e.svc.BreedCompanions(ctx, op(), user, a.Name, b.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Parents[0].Breeding || !r.Parents[1].Breeding {
		t.Fatalf("parents not busy: %+v", r.Parents)
	}
	// Not ready: nothing hatches, and the refusal says when.
	if _, err := e.svc.HatchEggs(ctx, op(), user); !errors.Is(err, economy.ErrNoEggReady) {
		t.Fatalf("hatch before ready: %v", err)
	} else if want := fmt.Sprintf("<t:%d:R>", r.Egg.ReadyAt.Unix()); !strings.Contains(err.Error(), want) {
		t.Fatalf("%q does not say when (%s)", err, want)
	}
	// The parents are busy breeding: every action that needs them idle is refused.
	busy := map[string]func() error{
		"train":   func() error { _, err := e.svc.TrainCompanion(ctx, op(), user, a.Name); return err },
		"release": func() error { _, err := e.svc.ReleaseCompanion(ctx, op(), user, b.Name); return err },
		"stasis":  func() error { _, err := e.svc.SetStasis(ctx, op(), user, b.Name, true); return err },
		"learn":   func() error { _, err := e.svc.LearnSkill(ctx, op(), user, a.Name, "anything"); return err },
		"battle": func() error {
			e.capsule(t, 509)
			_, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: user, Challenged: 509, Companion: a.Name})
			return err
		},
	}
	for name, act := range busy {
		if err := act(); !errors.Is(err, economy.ErrBreeding) {
			t.Errorf("%s while breeding: %v", name, err)
		}
	}
	eggs, err := e.svc.Eggs(ctx, user)
	if err != nil || len(eggs) != 1 || eggs[0].ID != r.Egg.ID {
		t.Fatalf("eggs: %+v, %v", eggs, err)
	}
	e.clock.Add(time.Duration(rule.IncubationSeconds)*time.Second - time.Second)
	if _, err := e.svc.HatchEggs(ctx, op(), user); !errors.Is(err, economy.ErrNoEggReady) {
		t.Fatalf("hatch a second early: %v", err)
	}
	e.clock.Add(time.Second)
	// Ready: hatch from two nodes at once, twice each; one companion.
	var hatched atomic.Int64
	e.onTwoNodes(t, 4, func(i int, svc *economy.Service) {
		h, err := svc.HatchEggs(ctx, op(), user)
		switch {
		case err == nil:
			hatched.Add(int64(len(h.Hatched)))
		case !errors.Is(err, economy.ErrNoEggReady):
			t.Errorf("hatch %d: %v", i, err)
		}
	})
	if hatched.Load() != 1 {
		t.Fatalf("%d hatched", hatched.Load())
	}
	all, _ := e.svc.Companions(ctx, user)
	if len(all) != 3 {
		t.Fatalf("%d companions", len(all))
	}
	for _, c := range all[:2] {
		if c.Breeding {
			t.Errorf("%s still busy after the egg was ready", c.Name)
		}
	}
	if _, err := e.svc.TrainCompanion(ctx, op(), user, a.Name); err != nil {
		t.Fatalf("train after: %v", err)
	}
	if eggs, _ := e.svc.Eggs(ctx, user); len(eggs) != 0 {
		t.Fatalf("eggs left: %+v", eggs)
	}
	e.audit(t)
}

// An egg holds one of its owner's companion slots.
func TestEggHoldsASlot(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const user = 510
	rule := e.svc.Catalog().Companions
	var first []economy.Companion
	for range rule.MaxOwned - 1 {
		first = append(first, e.capsule(t, user))
	}
	e.setXP(t, first[0].ID, 1<<20)
	e.setXP(t, first[1].ID, 1<<20)
	e.fund(t, user, rule.Breed.Cost+10_000)
	if _, err := e.svc.BreedCompanions(ctx, op(), user, first[0].Name, first[1].Name); err != nil {
		t.Fatal(err)
	}
	e.fund(t, user, 5000)
	if _, err := e.svc.Buy(ctx, op(), user, "companion_capsule", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.OpenCapsule(ctx, op(), user, "companion_capsule"); !errors.Is(err, economy.ErrCompanionLimit) {
		t.Fatalf("a capsule beyond the limit with an egg: %v", err)
	}
	e.audit(t)
}

// A companion's work and gather skills raise /work pay and /gather odds
// while it is awake and charged, and the outcome names it.
func TestCompanionSkillsHelpWorkAndGather(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const user = 508
	c := e.capsule(t, user)
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'scout', skills = '{afterburner,survey}' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.Work(ctx, op(), user, "code_review")
	if err != nil {
		t.Fatal(err)
	}
	if s.Helper != (economy.Helper{}) {
		t.Fatalf("a scout helped at work: %+v", s.Helper)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'worker', skills = '{overtime}' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	s, err = e.svc.Work(ctx, op(), user, "code_review")
	if err != nil {
		t.Fatal(err)
	}
	if s.Helper.Percent != 10 || s.Helper.Companion != c.Name || s.Helper.Skill != "Overtime" {
		t.Fatalf("helper: %+v", s.Helper)
	}
	j, _ := e.svc.Catalog().Job("code_review")
	if s.Pay < j.MinPay*110/100 {
		t.Fatalf("pay %d is not raised by 10%%", s.Pay)
	}
	// In stasis it does not help.
	e.svc.SetStasis(ctx, op(), user, c.Name, true)
	e.clock.Add(time.Hour)
	if s, err = e.svc.Work(ctx, op(), user, "code_review"); err != nil || s.Helper.Percent != 0 {
		t.Fatalf("in stasis: %+v, %v", s.Helper, err)
	}
	// Gathering: a survey skill raises the odds, and shows.
	e.svc.SetStasis(ctx, op(), user, c.Name, false)
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'scout', skills = '{afterburner,survey}' WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	e.fund(t, user, 5000)
	e.svc.Buy(ctx, op(), user, "fishing_rod", 1)
	f, err := e.svc.Gather(ctx, op(), user, "")
	if err != nil || f.Helper.Percent != 15 || f.Helper.Skill != "Survey" {
		t.Fatalf("gather helper: %+v, %v", f.Helper, err)
	}
	e.audit(t)
}

// A /gather may also find a Companion Capsule; the reply's result names it
// and the item ledger records it.
func TestGatherFindsACapsule(t *testing.T) {
	e := newEnv(t)
	cat := economy.DefaultCatalog()
	cat.Companions.GatherCapsulePerMille = 1000
	svc, err := economy.New(e.pool, economy.Config{Catalog: cat, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const user = 509
	e.fund(t, user, 1000)
	if _, err := svc.Buy(ctx, op(), user, "fishing_rod", 1); err != nil {
		t.Fatal(err)
	}
	f, err := svc.Gather(ctx, op(), user, "")
	if err != nil || f.Bonus != "companion_capsule" {
		t.Fatalf("gather: %+v, %v", f, err)
	}
	if _, err := svc.OpenCapsule(ctx, op(), user, "companion_capsule"); err != nil {
		t.Fatalf("open the found capsule: %v", err)
	}
	e.audit(t)
}
