package economy_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// The premium SKUs of these tests.
var testSKUs = economy.PremiumSKUs{Subscription: 9001, Pack: 9002, Boost: 9003}

// premiumEnv is env with a service that sells testSKUs.
func premiumEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	svc, err := economy.New(e.pool, economy.Config{Now: e.clock.Now, Premium: testSKUs})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	return e
}

func (e *env) record(t *testing.T, ents ...economy.Entitlement) {
	t.Helper()
	if err := e.svc.RecordEntitlements(context.Background(), ents); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// TestPremiumPerksFollowEntitlement: with an active subscription
// entitlement the perks show in balance, daily, bank, work and vault;
// when the entitlement ends they stop, and what they gave stays.
func TestPremiumPerksFollowEntitlement(t *testing.T) {
	e := premiumEnv(t)
	ctx := context.Background()
	const user, other = 41, 42
	now := e.clock.Now()
	sub := economy.Entitlement{ID: 500, SKUID: testSKUs.Subscription, UserID: user, Type: 8, StartsAt: ptr(now.Add(-time.Minute))}
	e.record(t, sub, economy.Entitlement{ID: 501, SKUID: 77, UserID: other, Type: 8}) // an SKU the game does not sell

	if a := e.balance(t, user); !a.Premium || a.BankCapacity != 20000 {
		t.Fatalf("premium balance %+v, want premium with capacity 20000", a)
	}
	if a := e.balance(t, other); a.Premium || a.BankCapacity != 10000 {
		t.Fatalf("free balance %+v", a)
	}
	dp, err := e.svc.Daily(ctx, op(), user)
	if err != nil {
		t.Fatal(err)
	}
	df, err := e.svc.Daily(ctx, op(), other)
	if err != nil {
		t.Fatal(err)
	}
	if dp.Reward != df.Reward*3/2 || dp.Premium != df.Reward/2 || df.Premium != 0 {
		t.Fatalf("daily premium %+v, free %+v", dp, df)
	}
	sp, err := e.svc.Work(ctx, op(), user, "code_review")
	if err != nil {
		t.Fatal(err)
	}
	if got := sp.Next.Sub(now); got != 15*time.Minute {
		t.Fatalf("premium work cooldown %v, want 15m", got)
	}
	e.fund(t, user, 30000)
	r, err := e.svc.Deposit(ctx, op(), user, economy.Amount{Value: 15000})
	if err != nil || r.Account.Bank != 15000 || r.Account.BankCapacity != 20000 {
		t.Fatalf("premium deposit %+v %v", r, err)
	}

	// The subscription ends: ENTITLEMENT_UPDATE with ends_at.
	e.clock.Add(time.Hour)
	ended := sub
	ended.EndsAt = ptr(e.clock.Now().Add(-time.Second))
	e.record(t, ended)
	// A late, older report (an interaction payload without ends_at) does not revive it.
	e.record(t, sub)
	a := e.balance(t, user)
	if a.Premium || a.BankCapacity != 10000 || a.Bank != 15000 {
		t.Fatalf("after the end %+v: want no perks and the bank kept", a)
	}
	if _, err := e.svc.Deposit(ctx, op(), user, economy.Amount{Value: 1}); !errors.Is(err, economy.ErrBankFull) {
		t.Fatalf("deposit past the free capacity: %v", err)
	}
	e.clock.Add(24 * time.Hour)
	d2, err := e.svc.Daily(ctx, op(), user)
	if err != nil || d2.Premium != 0 {
		t.Fatalf("daily after the end %+v %v", d2, err)
	}
	// Renewed: a new entitlement brings the perks back.
	e.record(t, economy.Entitlement{ID: 502, SKUID: testSKUs.Subscription, UserID: user, Type: 8, StartsAt: ptr(e.clock.Now())})
	if a := e.balance(t, user); !a.Premium || a.BankCapacity != 20000 {
		t.Fatalf("after renewal %+v", a)
	}
	st, err := e.svc.Premium(ctx, user)
	if err != nil || !st.Perks.Premium || st.Since == nil || st.Until != nil {
		t.Fatalf("status %+v %v", st, err)
	}
	// Deleted (a refund): gone.
	e.record(t, economy.Entitlement{ID: 502, SKUID: testSKUs.Subscription, UserID: user, Type: 8, Deleted: true})
	if a := e.balance(t, user); a.Premium {
		t.Fatalf("after delete %+v", a)
	}
	e.audit(t)
}

// TestPremiumOnlyCosmetics: a premium-only cosmetic is sold to premium
// members only.
func TestPremiumOnlyCosmetics(t *testing.T) {
	e := premiumEnv(t)
	ctx := context.Background()
	e.fund(t, 51, 50000)
	e.fund(t, 52, 50000)
	e.record(t, economy.Entitlement{ID: 600, SKUID: testSKUs.Subscription, UserID: 52, Type: 8})
	if _, err := e.svc.Buy(ctx, op(), 51, "skin_aurora", 1); !errors.Is(err, economy.ErrPremiumOnly) {
		t.Fatalf("free user bought a premium cosmetic: %v", err)
	}
	if _, err := e.svc.Buy(ctx, op(), 52, "skin_aurora", 1); err != nil {
		t.Fatalf("premium user: %v", err)
	}
	if _, err := e.svc.Buy(ctx, op(), 51, "skin_camo", 1); err != nil {
		t.Fatalf("ordinary cosmetic: %v", err)
	}
	e.audit(t)
}

// TestPremiumVaultAndCompanionLimits: premium raises the vault and the
// companion cap from the catalogue's values to the premium ones.
func TestPremiumVaultAndCompanionLimits(t *testing.T) {
	e := premiumEnv(t)
	ctx := context.Background()
	cat := e.svc.Catalog()
	const user = 61
	p, err := e.svc.Perks(ctx, user)
	if err != nil || p.Premium || p.VaultCapacity() != cat.VaultCapacity || p.MaxCompanions() != cat.Companions.MaxOwned {
		t.Fatalf("free perks %+v %v", p, err)
	}
	e.record(t, economy.Entitlement{ID: 700, SKUID: testSKUs.Subscription, UserID: user, Type: 8})
	if p, err = e.svc.Perks(ctx, user); err != nil || p.VaultCapacity() != 20 || p.MaxCompanions() != 20 {
		t.Fatalf("premium perks %+v %v", p, err)
	}
	// Own the free companion cap, then one more is refused without premium
	// and allowed with it.
	for range cat.Companions.MaxOwned {
		e.capsule(t, user)
	}
	e.capsule(t, user) // premium: room for one more
	e.record(t, economy.Entitlement{ID: 700, SKUID: testSKUs.Subscription, UserID: user, Type: 8, EndsAt: ptr(e.clock.Now())})
	e.fund(t, user, 5000)
	if _, err := e.svc.Buy(ctx, op(), user, "companion_capsule", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.OpenCapsule(ctx, op(), user, "companion_capsule"); !errors.Is(err, economy.ErrCompanionLimit) {
		t.Fatalf("past the free cap after premium ended: %v", err)
	}
	all, _ := e.svc.Companions(ctx, user)
	if len(all) != cat.Companions.MaxOwned+1 {
		t.Fatalf("companions %d: nothing is taken back", len(all))
	}
	e.audit(t)
}

// TestGrantAndConsumeOnce: a boost reported many times, on many nodes at
// once, is given once, and exactly one caller is told to consume it.
func TestGrantAndConsumeOnce(t *testing.T) {
	e := premiumEnv(t)
	ctx := context.Background()
	const user = 71
	boost := economy.Entitlement{ID: 800, SKUID: testSKUs.Boost, UserID: user, Type: 1, Consumed: ptr(false)}
	pack := economy.Entitlement{ID: 801, SKUID: testSKUs.Pack, UserID: user, Type: 1}
	e.record(t, boost, pack)
	var wg sync.WaitGroup
	var mu sync.Mutex
	claims := 0
	for range 8 {
		wg.Go(func() {
			for _, ent := range []economy.Entitlement{boost, pack} {
				if err := e.svc.RecordEntitlements(ctx, []economy.Entitlement{ent}); err != nil {
					t.Error(err)
				}
				if _, err := e.svc.GrantPurchase(ctx, ent); err != nil {
					t.Error(err)
				}
			}
			won, err := e.svc.ClaimConsume(ctx, boost.ID)
			if err != nil {
				t.Error(err)
			}
			if won {
				mu.Lock()
				claims++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if claims != 1 {
		t.Fatalf("%d callers told to consume, want 1", claims)
	}
	if won, _ := e.svc.ClaimConsume(ctx, pack.ID); won {
		t.Fatal("a durable pack was claimed for consumption")
	}
	hold := map[string]int{}
	stacks, err := e.svc.Holdings(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stacks {
		hold[s.Item] = s.Count
	}
	if hold["coffee"] != 3 || hold["skin_starlight"] != 1 || hold["chassis_comet"] != 1 {
		t.Fatalf("holdings %v: want 3 coffee and the pack once", hold)
	}
	if err := e.svc.MarkConsumed(ctx, boost.ID); err != nil {
		t.Fatal(err)
	}
	e.record(t, boost) // a late report with consumed:false does not undo it
	if won, _ := e.svc.ClaimConsume(ctx, boost.ID); won {
		t.Fatal("claimed again after consumed")
	}
	st, err := e.svc.Premium(ctx, user)
	if err != nil || !st.Pack || st.Boosts != 1 || st.Perks.Premium {
		t.Fatalf("status %+v %v", st, err)
	}
	// A claim whose node died is taken over after ConsumeClaimTTL; a
	// released claim at once.
	b2 := economy.Entitlement{ID: 803, SKUID: testSKUs.Boost, UserID: user, Type: 1, Consumed: ptr(false)}
	e.record(t, b2)
	if _, err := e.svc.GrantPurchase(ctx, b2); err != nil {
		t.Fatal(err)
	}
	claim := func() bool {
		t.Helper()
		won, err := e.svc.ClaimConsume(ctx, b2.ID)
		if err != nil {
			t.Fatal(err)
		}
		return won
	}
	if !claim() || claim() {
		t.Fatal("want one claim")
	}
	e.clock.Add(economy.ConsumeClaimTTL + time.Second)
	if !claim() {
		t.Fatal("a stale claim was not taken over")
	}
	if err := e.svc.ReleaseConsume(ctx, b2.ID); err != nil {
		t.Fatal(err)
	}
	if !claim() {
		t.Fatal("a released claim was not claimable")
	}
	if _, err := e.svc.GrantPurchase(ctx, economy.Entitlement{ID: 802, SKUID: testSKUs.Subscription, UserID: user}); !errors.Is(err, economy.ErrNotGrantable) {
		t.Fatalf("granted a subscription as a purchase: %v", err)
	}
	e.audit(t)
}
