package economy_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// owns reports whether user's companion list holds companion id.
func (e *env) owns(t testing.TB, user, id int64) bool {
	t.Helper()
	all, err := e.svc.Companions(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all {
		if c.ID == id {
			return true
		}
	}
	return false
}

// A listed companion leaves its owner into escrow, shows on /market
// browse with its model, level and rarity, and a purchase pays the seller
// the price less the fee and gives the buyer the companion (renamed when
// the buyer already uses its name).
func TestCompanionMarketSellBuy(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller, buyer = 1201, 1202
	c := e.capsule(t, seller)
	e.setXP(t, c.ID, 1<<14)
	mine := e.capsule(t, buyer)
	if _, err := e.svc.RenameCompanion(ctx, op(), buyer, mine.Name, c.Name); err != nil {
		t.Fatal(err)
	}
	before := e.balance(t, seller).Wallet

	l, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 2000)
	if err != nil || l.Kind != economy.KindCompanion || l.Companion == nil || l.Companion.ID != c.ID || l.State != "open" {
		t.Fatalf("sell companion: %+v %v", l, err)
	}
	if e.owns(t, seller, c.ID) {
		t.Fatal("the listed companion is still in its seller's list")
	}
	// The seller's board entry is queued for an update; escrow is no player.
	var queued, escrow int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE user_id = $1), count(*) FILTER (WHERE user_id <= 0)
		FROM economy.board_outbox`, seller).Scan(&queued, &escrow); err != nil {
		t.Fatal(err)
	}
	if queued == 0 || escrow != 0 {
		t.Fatalf("board outbox: seller queued %d times, escrow %d times; want the seller and never escrow", queued, escrow)
	}
	// Busy on the market: nothing the owner does reaches it.
	for name, do := range map[string]func() error{
		"train":   func() error { _, err := e.svc.TrainCompanion(ctx, op(), seller, c.Name); return err },
		"release": func() error { _, err := e.svc.ReleaseCompanion(ctx, op(), seller, c.Name); return err },
		"stasis":  func() error { _, err := e.svc.SetStasis(ctx, op(), seller, c.Name, true); return err },
		"relist":  func() error { _, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 5); return err },
	} {
		if err := do(); !errors.Is(err, economy.ErrCompanionListed) {
			t.Errorf("%s a listed companion: %v, want ErrCompanionListed", name, err)
		}
	}
	page, err := e.svc.MarketBrowse(ctx, "", "", 0)
	if err != nil || len(page.Rows) != 1 {
		t.Fatalf("browse: %+v %v", page, err)
	}
	m, _ := e.svc.Catalog().Model(c.Model)
	got := page.Rows[0]
	if got.Companion == nil || got.Companion.Name != c.Name || got.Companion.Level < 2 || got.ItemName != m.Name || got.Rarity != m.Rarity {
		t.Fatalf("browsed listing %+v (companion %+v), want %s, level > 1, %s", got, got.Companion, m.Name, m.Rarity)
	}
	e.audit(t)

	e.fund(t, buyer, 5000)
	p, err := e.svc.MarketBuy(ctx, op(), buyer, l.ID, 0)
	if err != nil || p.Companion == nil || p.Companion.ID != c.ID || p.Total != 2000 || p.Fee != 100 {
		t.Fatalf("buy: %+v %v", p, err)
	}
	if p.Companion.Name == c.Name {
		t.Errorf("bought companion kept the name %q the buyer already used", c.Name)
	}
	if !e.owns(t, buyer, c.ID) {
		t.Fatal("the buyer does not own the bought companion")
	}
	if w := e.balance(t, seller).Wallet - before; w != 1900 {
		t.Fatalf("seller got %d, want 1900 (2000 less the 5%% fee)", w)
	}
	if _, err := e.svc.MarketBuy(ctx, op(), buyer+1, l.ID, 0); !errors.Is(err, economy.ErrListingClosed) {
		t.Fatalf("buy a sold companion: %v", err)
	}
	e.audit(t)
}

// Cancelling and the expiry sweep give a listed companion back.
func TestCompanionMarketCancelAndExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller = 1211
	a := e.capsule(t, seller)
	b := e.capsule(t, seller)
	la, err := e.svc.MarketSellCompanion(ctx, op(), seller, a.Name, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MarketSellCompanion(ctx, op(), seller, "#"+itoa(b.ID), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MarketCancel(ctx, op(), seller+1, la.ID); !errors.Is(err, economy.ErrNotYourListing) {
		t.Fatalf("cancel another's listing: %v", err)
	}
	if _, err := e.svc.MarketCancel(ctx, op(), seller, la.ID); err != nil || !e.owns(t, seller, a.ID) {
		t.Fatalf("cancel: %v, owned again: %v", err, e.owns(t, seller, a.ID))
	}
	e.clock.Add(economy.ListingLifetime)
	if n, err := e.svc.SweepMarket(ctx, 100); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if !e.owns(t, seller, b.ID) {
		t.Fatal("the expired companion did not come back")
	}
	e.audit(t)
}

// The exploit table of companions on the market and in trades: each
// refused, nothing moves, and the audit stays clean.
func TestCompanionMarketExploits(t *testing.T) {
	ctx := context.Background()
	const seller, buyer = 1221, 1222
	cases := []struct {
		name string
		// do sets up and attempts the exploit, returning its error.
		do   func(t *testing.T, e *env) error
		want error
	}{
		{"buy your own companion listing", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			l, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.MarketBuy(ctx, op(), seller, l.ID, 0)
			return err
		}, economy.ErrOwnListing},
		{"list a companion in battle", func(t *testing.T, e *env) error {
			e.duel(t, 0)
			all, _ := e.svc.Companions(ctx, red)
			_, err := e.svc.MarketSellCompanion(ctx, op(), red, all[0].Name, 10)
			return err
		}, economy.ErrInBattle},
		{"list a companion in stasis", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			if _, err := e.svc.SetStasis(ctx, op(), seller, c.Name, true); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10)
			return err
		}, economy.ErrInStasis},
		{"list a breeding companion", func(t *testing.T, e *env) error {
			a, b := e.capsule(t, seller), e.capsule(t, seller)
			e.setXP(t, a.ID, 1<<20)
			e.setXP(t, b.ID, 1<<20)
			e.fund(t, seller, e.svc.Catalog().Companions.Breed.Cost+10_000)
			if _, err := e.svc.BreedCompanions(ctx, op(), seller, a.Name, b.Name); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.MarketSellCompanion(ctx, op(), seller, a.Name, 10)
			return err
		}, economy.ErrBreeding},
		{"list a companion already listed", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			if _, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.MarketSellCompanion(ctx, op(), seller, "#"+itoa(c.ID), 10)
			return err
		}, economy.ErrCompanionListed},
		{"list another's companion", func(t *testing.T, e *env) error {
			c := e.capsule(t, buyer)
			_, err := e.svc.MarketSellCompanion(ctx, op(), seller, "#"+itoa(c.ID), 10)
			return err
		}, economy.ErrUnknownCompanion},
		{"list a companion at price 0", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			_, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 0)
			return err
		}, economy.ErrBadPrice},
		{"buy with the buyer at the cap", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			l, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10)
			if err != nil {
				t.Fatal(err)
			}
			for range e.svc.Catalog().Companions.MaxOwned {
				e.capsule(t, buyer)
			}
			e.fund(t, buyer, 1000)
			_, err = e.svc.MarketBuy(ctx, op(), buyer, l.ID, 0)
			return err
		}, economy.ErrCompanionLimit},
		{"list to free a slot, fill it, then cancel", func(t *testing.T, e *env) error {
			var first economy.Companion
			for i := range e.svc.Catalog().Companions.MaxOwned {
				c := e.capsule(t, seller)
				if i == 0 {
					first = c
				}
			}
			if _, err := e.svc.MarketSellCompanion(ctx, op(), seller, first.Name, 10); err != nil {
				t.Fatal(err)
			}
			e.fund(t, seller, 5000)
			if _, err := e.svc.Buy(ctx, op(), seller, "companion_capsule", 1); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.OpenCapsule(ctx, op(), seller, "companion_capsule")
			return err
		}, economy.ErrCompanionLimit},
		{"offer a listed companion in a trade", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			if _, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10); err != nil {
				t.Fatal(err)
			}
			tr, err := e.svc.TradeOpen(ctx, op(), seller, buyer)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.TradeEdit(ctx, op(), seller, tr.ID, tr.Version, economy.TradeChange{Companion: c.ID, Qty: 1})
			return err
		}, economy.ErrCompanionListed},
		{"list a companion after offering it, then confirm", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			tr := e.tradeCompanion(t, seller, buyer, c.ID)
			if _, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.TradeConfirm(ctx, op(), seller, tr.ID, tr.Version); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.TradeConfirm(ctx, op(), buyer, tr.ID, tr.Version)
			return err
		}, economy.ErrCompanionGone},
		{"trade a companion to a receiver at the cap", func(t *testing.T, e *env) error {
			c := e.capsule(t, seller)
			for range e.svc.Catalog().Companions.MaxOwned {
				e.capsule(t, buyer)
			}
			tr := e.tradeCompanion(t, seller, buyer, c.ID)
			if _, err := e.svc.TradeConfirm(ctx, op(), seller, tr.ID, tr.Version); err != nil {
				t.Fatal(err)
			}
			_, err := e.svc.TradeConfirm(ctx, op(), buyer, tr.ID, tr.Version)
			return err
		}, economy.ErrCompanionLimit},
		{"offer another's companion in a trade", func(t *testing.T, e *env) error {
			c := e.capsule(t, buyer)
			tr, err := e.svc.TradeOpen(ctx, op(), seller, buyer)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.TradeEdit(ctx, op(), seller, tr.ID, tr.Version, economy.TradeChange{Companion: c.ID, Qty: 1})
			return err
		}, economy.ErrUnknownCompanion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if err := tc.do(t, e); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			e.audit(t)
		})
	}
}

// tradeCompanion opens a trade from a to b with a's companion id offered
// and returns it.
func (e *env) tradeCompanion(t *testing.T, a, b, id int64) economy.Trade {
	t.Helper()
	ctx := context.Background()
	tr, err := e.svc.TradeOpen(ctx, op(), a, b)
	if err != nil {
		t.Fatal(err)
	}
	tr, err = e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Companion: id, Qty: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// A companion offered in a trade moves in the swap, for credits; any
// change clears both confirmations, and removing it leaves it home.
func TestTradeCompanion(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const a, b = 1231, 1232
	c := e.capsule(t, a)
	d := e.capsule(t, a)
	e.fund(t, b, 3000)
	tr := e.tradeCompanion(t, a, b, c.ID)
	if len(tr.Offers[0].Companions) != 1 || tr.Offers[0].Companions[0].Name != c.Name {
		t.Fatalf("offer %+v, want %s", tr.Offers[0], c.Name)
	}
	tr, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Companion: d.ID, Qty: 1})
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = e.svc.TradeEdit(ctx, op(), b, tr.ID, tr.Version, economy.TradeChange{Credits: 2500}); err != nil {
		t.Fatal(err)
	}
	if tr, err = e.svc.TradeConfirm(ctx, op(), b, tr.ID, tr.Version); err != nil {
		t.Fatal(err)
	}
	// a takes d back after b confirmed: b's confirmation is cleared.
	if tr, err = e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Companion: d.ID, Qty: -1}); err != nil {
		t.Fatal(err)
	}
	if tr.Confirmed != [2]int{} || len(tr.Offers[0].Companions) != 1 {
		t.Fatalf("after a change: confirmed %v, offer %+v", tr.Confirmed, tr.Offers[0])
	}
	if _, err := e.svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version-1); !errors.Is(err, economy.ErrStaleTrade) {
		t.Fatalf("confirm a stale version: %v", err)
	}
	for _, u := range []int64{a, b} {
		if tr, err = e.svc.TradeConfirm(ctx, op(), u, tr.ID, tr.Version); err != nil {
			t.Fatal(err)
		}
	}
	if tr.State != "done" || !e.owns(t, b, c.ID) || e.owns(t, a, c.ID) || !e.owns(t, a, d.ID) {
		t.Fatalf("after the swap: state %s; b owns c %v, a owns c %v, a owns d %v", tr.State,
			e.owns(t, b, c.ID), e.owns(t, a, c.ID), e.owns(t, a, d.ID))
	}
	e.audit(t)
}

// Two buyers on two nodes race for one companion: one wins; a cancel
// racing a purchase: exactly one of them happens. The companion is in one
// place at the end, and the audit is clean.
func TestCompanionMarketRaces(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const seller, b1, b2 = 1241, 1242, 1243
	const rounds = 4
	e.fund(t, b1, 1_000_000)
	e.fund(t, b2, 1_000_000)
	race := func(a, b func() error) (errA, errB error) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() { defer wg.Done(); <-start; errA = a() }()
		go func() { defer wg.Done(); <-start; errB = b() }()
		close(start)
		wg.Wait()
		return errA, errB
	}
	for i := range rounds {
		c := e.capsule(t, seller)
		l, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 100)
		if err != nil {
			t.Fatal(err)
		}
		errA, errB := race(
			func() error { _, err := e.svc.MarketBuy(ctx, op(), b1, l.ID, 0); return err },
			func() error { _, err := other.MarketBuy(ctx, op(), b2, l.ID, 0); return err })
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: two buyers of one companion: %v, %v", i, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, economy.ErrListingClosed) {
				t.Fatalf("round %d: loser got %v", i, err)
			}
		}
		if e.owns(t, b1, c.ID) == e.owns(t, b2, c.ID) {
			t.Fatalf("round %d: companion owned by both buyers or neither", i)
		}

		c = e.capsule(t, seller)
		l, err = e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 100)
		if err != nil {
			t.Fatal(err)
		}
		errBuy, errCancel := race(
			func() error { _, err := other.MarketBuy(ctx, op(), b1, l.ID, 0); return err },
			func() error { _, err := e.svc.MarketCancel(ctx, op(), seller, l.ID); return err })
		if (errBuy == nil) == (errCancel == nil) {
			t.Fatalf("round %d: buy %v and cancel %v", i, errBuy, errCancel)
		}
		if got, want := e.owns(t, b1, c.ID), errBuy == nil; got != want || e.owns(t, seller, c.ID) == want {
			t.Fatalf("round %d: buyer owns %v (bought: %v), seller owns %v", i, got, want, e.owns(t, seller, c.ID))
		}
		// Release what the buyers got, so the caps never bind.
		for _, u := range []int64{b1, b2} {
			all, _ := e.svc.Companions(ctx, u)
			for _, x := range all {
				if _, err := e.svc.ReleaseCompanion(ctx, op(), u, "#"+itoa(x.ID)); err != nil {
					t.Fatal(err)
				}
			}
		}
		all, _ := e.svc.Companions(ctx, seller)
		for _, x := range all {
			if _, err := e.svc.ReleaseCompanion(ctx, op(), seller, "#"+itoa(x.ID)); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.audit(t)
}

// The audit finds a companion in escrow without its listing.
func TestAuditFindsMisplacedCompanions(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.capsule(t, 1251)
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET owner_id = -3 WHERE id = $1`, c.ID); err != nil {
		t.Fatal(err)
	}
	r, err := economy.Audit(ctx, e.pool)
	if err != nil {
		t.Fatal(err)
	}
	if r.CompanionsMisplaced != 1 || r.OK() {
		t.Fatalf("audit of a companion in escrow without a listing: %+v", r)
	}
}

// The buyer's cap is premium aware: at the free cap a premium member may
// still buy a companion, a free player may not.
func TestCompanionMarketPremiumCap(t *testing.T) {
	e := premiumEnv(t)
	ctx := context.Background()
	const seller, free, premium = 1261, 1262, 1263
	e.record(t, economy.Entitlement{ID: 700, SKUID: testSKUs.Subscription, UserID: premium, Type: 8,
		StartsAt: ptr(e.clock.Now().Add(-time.Minute))})
	if e.svc.Catalog().Premium.MaxCompanions <= e.svc.Catalog().Companions.MaxOwned {
		t.Fatal("the catalogue's premium companion limit is not above the free one")
	}
	c := e.capsule(t, seller)
	l, err := e.svc.MarketSellCompanion(ctx, op(), seller, c.Name, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []int64{free, premium} {
		for range e.svc.Catalog().Companions.MaxOwned {
			e.capsule(t, u)
		}
		e.fund(t, u, 100)
	}
	if _, err := e.svc.MarketBuy(ctx, op(), free, l.ID, 0); !errors.Is(err, economy.ErrCompanionLimit) {
		t.Fatalf("a free player at the cap buys: %v", err)
	}
	if _, err := e.svc.MarketBuy(ctx, op(), premium, l.ID, 0); err != nil || !e.owns(t, premium, c.ID) {
		t.Fatalf("a premium player at the free cap buys: %v", err)
	}
	e.audit(t)
}

// Many companion listings, purchases, cancellations and trades at once
// from two services: every companion ends in exactly one place (an owner
// or one open listing), none is created or lost, no cap is passed, and the
// audit is clean. Refusals are expected; any other error fails.
func TestCompanionMarketConservation(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const users, each = 6, 3
	for u := int64(1301); u < 1301+users; u++ {
		for range each {
			e.capsule(t, u)
		}
		e.fund(t, u, 1_000_000)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	var done [4]atomic.Int64 // successes per kind: list, buy, cancel, trade
	for g := range 6 {
		svc := e.svc
		if g%2 == 1 {
			svc = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 99))
			user := func() int64 { return 1301 + r.Int64N(users) }
			some := func(u int64) string {
				all, err := svc.Companions(ctx, u)
				if err != nil || len(all) == 0 {
					return "#1"
				}
				return "#" + itoa(all[r.IntN(len(all))].ID)
			}
			for range 25 {
				var err error
				k := r.IntN(4)
				switch k {
				case 0:
					u := user()
					_, err = svc.MarketSellCompanion(ctx, op(), u, some(u), 1+r.Int64N(500))
				case 1:
					id := int64(1)
					if p, perr := svc.MarketBrowse(ctx, "", economy.SortNewest, 0); perr == nil && len(p.Rows) > 0 {
						id = p.Rows[r.IntN(min(len(p.Rows), 3))].ID
					}
					_, err = svc.MarketBuy(ctx, op(), user(), id, 0)
				case 2:
					u, id := user(), int64(1)
					if mine, merr := svc.MarketMine(ctx, u); merr == nil && len(mine) > 0 {
						id = mine[r.IntN(len(mine))].ID
					}
					_, err = svc.MarketCancel(ctx, op(), u, id)
				default:
					a := user()
					b := 1301 + (a-1301+1)%users
					var tr economy.Trade
					if tr, err = svc.TradeOpen(ctx, op(), a, b); err != nil {
						break
					}
					ref := some(a)
					id, _ := strconv.ParseInt(strings.TrimPrefix(ref, "#"), 10, 64)
					if tr, err = svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Companion: id, Qty: 1}); err != nil {
						break
					}
					if tr, err = svc.TradeEdit(ctx, op(), b, tr.ID, tr.Version, economy.TradeChange{Credits: 1 + r.Int64N(300)}); err != nil {
						break
					}
					if tr, err = svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version); err != nil {
						break
					}
					_, err = svc.TradeConfirm(ctx, op(), b, tr.ID, tr.Version)
				}
				switch {
				case err == nil:
					done[k].Add(1)
				case !errors.As(err, new(*refusal.Error)):
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("listed %d, bought %d, cancelled %d, traded %d", done[0].Load(), done[1].Load(), done[2].Load(), done[3].Load())
	for i, what := range []string{"listing", "purchase", "cancellation", "trade"} {
		if done[i].Load() == 0 {
			t.Errorf("no %s succeeded: the run tested only refusals", what)
		}
	}
	var total, misplaced, over int
	if err := e.pool.QueryRow(ctx, `SELECT count(*),
		count(*) FILTER (WHERE NOT (owner_id BETWEEN 1301 AND 1306 OR owner_id = -3)),
		(SELECT count(*) FROM (SELECT owner_id FROM economy.companions WHERE owner_id > 0 GROUP BY owner_id HAVING count(*) > $1) x)
		FROM economy.companions`, e.svc.Catalog().Companions.MaxOwned).Scan(&total, &misplaced, &over); err != nil {
		t.Fatal(err)
	}
	if total != users*each || misplaced != 0 || over != 0 {
		t.Fatalf("%d companions (want %d), %d with a stranger, %d owners over the cap", total, users*each, misplaced, over)
	}
	e.audit(t)
	// Every listing closed the way it should: cancel and the sweep give
	// back what is still open.
	e.clock.Add(economy.ListingLifetime)
	if _, err := e.svc.SweepMarket(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.companions WHERE owner_id = -3`).Scan(&misplaced); err != nil || misplaced != 0 {
		t.Fatalf("%d companions left in escrow after the sweep (%v)", misplaced, err)
	}
	e.audit(t)
}
