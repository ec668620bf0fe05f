package economy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// The exploit table's "act on a companion in stasis or in battle", action
// by action: a companion held by a challenge, in an accepted battle or in
// stasis cannot be trained, taught, recharged, bred (with a free partner),
// released, listed on the market or offered in a trade; nothing changes.
func TestBusyCompanionRefusesEveryAction(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		busy func(e *env, b economy.Battle, c economy.Companion) // makes red's companion c busy
		want error
	}{
		{"held by a challenge", func(*env, economy.Battle, economy.Companion) {}, economy.ErrInBattle},
		{"in a battle", func(e *env, b economy.Battle, _ economy.Companion) {
			if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); err != nil {
				t.Fatal(err)
			}
		}, economy.ErrInBattle},
		{"in stasis", func(e *env, b economy.Battle, c economy.Companion) {
			if _, err := e.svc.DeclineBattle(ctx, op(), b.ID, blue); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.SetStasis(ctx, op(), red, c.Name, true); err != nil {
				t.Fatal(err)
			}
		}, economy.ErrInStasis},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.duel(t, 100)
			c, err := e.svc.FindCompanion(ctx, red, "#"+itoa(b.Fighters[0].Companion))
			if err != nil {
				t.Fatal(err)
			}
			partner := e.capsule(t, red)
			e.setXP(t, c.ID, 1<<20)
			e.setXP(t, partner.ID, 1<<20)
			e.fund(t, red, 100000)
			e.svc.Buy(ctx, op(), red, "power_cell", 1)
			tc.busy(e, b, c)
			before, _ := e.svc.FindCompanion(ctx, red, c.Name)
			wallet := e.balance(t, red).Wallet
			ref := "#" + itoa(c.ID)
			for name, act := range map[string]func() error{
				"train":    func() error { _, err := e.svc.TrainCompanion(ctx, op(), red, ref); return err },
				"learn":    func() error { _, err := e.svc.LearnSkill(ctx, op(), red, ref, "anything"); return err },
				"recharge": func() error { _, err := e.svc.RechargeCompanion(ctx, op(), red, ref); return err },
				"breed":    func() error { _, err := e.svc.BreedCompanions(ctx, op(), red, ref, partner.Name); return err },
				"breed as the second parent": func() error {
					_, err := e.svc.BreedCompanions(ctx, op(), red, partner.Name, ref)
					return err
				},
				"release": func() error { _, err := e.svc.ReleaseCompanion(ctx, op(), red, ref); return err },
				"list on the market": func() error {
					_, err := e.svc.MarketSellCompanion(ctx, op(), red, ref, 1000)
					return err
				},
				"offer in a trade": func() error {
					tr, err := e.svc.TradeOpen(ctx, op(), red, grey)
					if err != nil {
						return err
					}
					_, err = e.svc.TradeEdit(ctx, op(), red, tr.ID, tr.Version, economy.TradeChange{Companion: c.ID, Qty: 1})
					return err
				},
			} {
				if err := act(); !errors.Is(err, tc.want) {
					t.Errorf("%s: got %v, want %v", name, err, tc.want)
				}
			}
			after, _ := e.svc.FindCompanion(ctx, red, c.Name)
			if after.XP != before.XP || after.Charge != before.Charge || len(after.Skills) != len(before.Skills) || after.BreedReady != nil {
				t.Errorf("the companion changed: %+v, was %+v", after, before)
			}
			if w := e.balance(t, red).Wallet; w != wallet {
				t.Errorf("wallet %d, was %d", w, wallet)
			}
			e.audit(t)
		})
	}
}

// An empty companion cannot battle: it cannot challenge, nor be picked to
// accept (the default pick skips it); and a challenger's companion that
// ran empty before the accept cancels the challenge, with nobody paying.
func TestEmptyCompanionCannotBattle(t *testing.T) {
	ctx := context.Background()
	empty := func(e *env, user int64) {
		t.Helper()
		if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET charge = 0 WHERE owner_id = $1`, user); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("challenge", func(t *testing.T) {
		e := newEnv(t)
		c := e.capsule(t, red)
		empty(e, red)
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: red, Challenged: blue, Companion: c.Name}); !errors.Is(err, economy.ErrNoCharge) {
			t.Fatalf("with it: %v", err)
		}
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: red, Challenged: blue}); !errors.Is(err, economy.ErrNoFighter) {
			t.Fatalf("with the best ready one: %v", err)
		}
	})
	t.Run("accept", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		empty(e, blue)
		mine, _ := e.svc.Companions(ctx, blue)
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, mine[0].Name); !errors.Is(err, economy.ErrNoCharge) {
			t.Fatalf("picking it: %v", err)
		}
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); !errors.Is(err, economy.ErrNoFighter) {
			t.Fatalf("the default pick: %v", err)
		}
		if w := e.balance(t, blue).Wallet; w != 10000 {
			t.Fatalf("blue's wallet %d", w)
		}
		e.audit(t)
	})
	t.Run("the challenger's runs empty", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		empty(e, red)
		got, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		if err != nil || got.State != economy.BattleCancelled {
			t.Fatalf("accept: %+v, %v", got, err)
		}
		for _, u := range []int64{red, blue} {
			if w := e.balance(t, u).Wallet; w != 10000 {
				t.Errorf("user %d's wallet %d", u, w)
			}
		}
		e.audit(t)
	})
}
