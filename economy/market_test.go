package economy_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// count returns how many of key user holds in the inventory.
func (e *env) count(t testing.TB, user int64, key string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM economy.items WHERE owner_id = $1 AND item_key = $2`,
		user, key).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// secondNode is another Service on its own pool over the same database,
// as a second node would have.
func (e *env) secondNode(t testing.TB) *economy.Service {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), e.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	svc, err := economy.New(pool, economy.Config{Rand: rand.NewPCG(7, 8), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestMarketSellBuyCancel(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller, buyer = 11, 12
	giveItem(t, e, seller, "ruby", 5)
	e.fund(t, buyer, 10_000)

	l, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 4, 1000)
	if err != nil || l.ID == 0 || l.Remaining != 4 || l.State != "open" || !l.ExpiresAt.Equal(e.clock.Now().Add(economy.ListingLifetime)) {
		t.Fatalf("sell: %+v %v", l, err)
	}
	if n := e.count(t, seller, "ruby"); n != 1 {
		t.Fatalf("seller holds %d rubies after listing 4 of 5, want 1", n)
	}
	e.audit(t)

	// A partial buy, then the same operation again: one purchase.
	buyOp := op()
	p, err := e.svc.MarketBuy(ctx, buyOp, buyer, l.ID, 3)
	if err != nil || p.Quantity != 3 || p.Total != 3000 || p.Fee != 150 || p.Left != 1 || p.Wallet != 7000 {
		t.Fatalf("buy: %+v %v", p, err)
	}
	again, err := e.svc.MarketBuy(ctx, buyOp, buyer, l.ID, 3)
	if err != nil || again != p {
		t.Fatalf("replayed buy: %+v %v, want %+v", again, err, p)
	}
	if w := e.balance(t, buyer).Wallet; w != 7000 {
		t.Fatalf("buyer wallet %d after a replayed buy, want 7000", w)
	}
	if w := e.balance(t, seller).Wallet; w != 2850 {
		t.Fatalf("seller wallet %d, want 2850 (3000 less the 5%% fee)", w)
	}
	if n := e.count(t, buyer, "ruby"); n != 3 {
		t.Fatalf("buyer holds %d rubies, want 3", n)
	}
	if s := e.systemLegs(t, economy.Sink); s != "150" {
		t.Fatalf("sink legs %s, want the fee 150", s)
	}

	mine, err := e.svc.MarketMine(ctx, seller)
	if err != nil || len(mine) != 1 || mine[0].Remaining != 1 {
		t.Fatalf("mine: %+v %v", mine, err)
	}
	if _, err := e.svc.MarketCancel(ctx, op(), buyer, l.ID); !errors.Is(err, economy.ErrNotYourListing) {
		t.Fatalf("cancel someone else's listing: %v", err)
	}
	c, err := e.svc.MarketCancel(ctx, op(), seller, l.ID)
	if err != nil || c.State != "cancelled" || c.Listed != 1 {
		t.Fatalf("cancel: %+v %v", c, err)
	}
	if n := e.count(t, seller, "ruby"); n != 2 {
		t.Fatalf("seller holds %d rubies after the cancel, want 2", n)
	}
	if _, err := e.svc.MarketBuy(ctx, op(), buyer, l.ID, 1); !errors.Is(err, economy.ErrListingClosed) {
		t.Fatalf("buy a cancelled listing: %v", err)
	}
	if _, err := e.svc.MarketCancel(ctx, op(), seller, l.ID); !errors.Is(err, economy.ErrListingClosed) {
		t.Fatalf("cancel twice: %v", err)
	}

	pr, err := e.svc.MarketPrice(ctx, "ruby")
	if err != nil || pr.Median != 1000 || pr.Volume != 3 || pr.Credits != 3000 || len(pr.Last) != 1 || pr.Lowest != 0 {
		t.Fatalf("price: %+v %v", pr, err)
	}
	e.audit(t)
}

// TestMarketExploits is the exploit table for the market: each
// attempt is refused with its refusal and changes nothing.
func TestMarketExploits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller, buyer = 21, 22
	giveItem(t, e, seller, "ruby", 3)
	giveItem(t, e, seller, "diamond", 1)
	e.fund(t, buyer, 100_000)
	e.fund(t, seller, 100_000)
	if _, err := e.svc.VaultAdd(ctx, op(), seller, "diamond"); err != nil {
		t.Fatal(err)
	}
	listed, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 2, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		try  func() error
		want error
	}{
		{"buy your own listing", func() error { _, err := e.svc.MarketBuy(ctx, op(), seller, listed.ID, 1); return err }, economy.ErrOwnListing},
		{"list what you do not have", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "star_shard", 1, 10); return err }, economy.ErrNotEnoughItems},
		{"list more than you have", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 2, 10); return err }, economy.ErrNotEnoughItems},
		{"list a vaulted item", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "diamond", 1, 10); return err }, economy.ErrNotEnoughItems},
		{"list an unknown item", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "unicorn", 1, 10); return err }, economy.ErrUnknownItem},
		{"sell a listed item to the shop", func() error { _, err := e.svc.Sell(ctx, op(), seller, "ruby", 2); return err }, economy.ErrNotEnoughItems},
		{"vault a listed item", func() error {
			giveItem(t, e, 23, "ruby", 1)
			if _, err := e.svc.MarketSell(ctx, op(), 23, "ruby", 1, 5); err != nil {
				return err
			}
			_, err := e.svc.VaultAdd(ctx, op(), 23, "ruby")
			return err
		}, economy.ErrNotEnoughItems},
		{"zero price", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 1, 0); return err }, economy.ErrBadPrice},
		{"negative price", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 1, -1); return err }, economy.ErrBadPrice},
		{"price past the cap", func() error {
			_, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 1, economy.MaxUnitPrice+1)
			return err
		}, economy.ErrBadPrice},
		{"price past int64", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 1, math.MaxInt64); return err }, economy.ErrBadPrice},
		{"zero quantity", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", 0, 5); return err }, economy.ErrBadQuantity},
		{"negative quantity", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", -1, 5); return err }, economy.ErrBadQuantity},
		{"overflowing quantity", func() error { _, err := e.svc.MarketSell(ctx, op(), seller, "ruby", math.MaxInt32, 5); return err }, economy.ErrBadQuantity},
		{"buy a negative quantity", func() error { _, err := e.svc.MarketBuy(ctx, op(), buyer, listed.ID, -1); return err }, economy.ErrBadQuantity},
		{"buy more than listed", func() error { _, err := e.svc.MarketBuy(ctx, op(), buyer, listed.ID, 3); return err }, economy.ErrListingShort},
		{"buy a listing that does not exist", func() error { _, err := e.svc.MarketBuy(ctx, op(), buyer, 999999, 1); return err }, economy.ErrNoListing},
		{"buy without the credits", func() error { _, err := e.svc.MarketBuy(ctx, op(), 24, listed.ID, 1); return err }, economy.ErrInsufficientFunds},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.audit(t)
			if err := tc.try(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			after := e.audit(t)
			if after.Held.Cmp(before.Held) != 0 {
				t.Fatalf("credits held changed from %s to %s", before.Held, after.Held)
			}
		})
	}
	if n := e.count(t, seller, "ruby"); n != 1 {
		t.Fatalf("seller holds %d rubies, want 1", n)
	}
	if w := e.balance(t, buyer).Wallet; w != 100_000 {
		t.Fatalf("buyer wallet %d after refusals, want 100000", w)
	}
}

func TestMarketListingLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	giveItem(t, e, 31, "pebble", economy.MaxListings+1)
	for i := 0; i < economy.MaxListings; i++ {
		if _, err := e.svc.MarketSell(ctx, op(), 31, "pebble", 1, 10); err != nil {
			t.Fatalf("listing %d: %v", i+1, err)
		}
	}
	if _, err := e.svc.MarketSell(ctx, op(), 31, "pebble", 1, 10); !errors.Is(err, economy.ErrTooManyListings) {
		t.Fatalf("listing past the limit: %v", err)
	}
	p, err := e.svc.MarketBrowse(ctx, "pebble", economy.SortCheapest, 1)
	if err != nil || p.Total != economy.MaxListings || p.Pages != 2 || len(p.Rows) != economy.MaxListings-economy.PageSize {
		t.Fatalf("browse page 2: %+v %v", p, err)
	}
	if _, err := e.svc.MarketBrowse(ctx, "pebble", "random", 0); !errors.Is(err, economy.ErrBadSort) {
		t.Fatalf("browse with a bad sort: %v", err)
	}
	e.audit(t)
}

// TestMarketSellerOverflow refuses a purchase that would carry the
// seller's wallet past int64, and moves nothing.
func TestMarketSellerOverflow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	giveItem(t, e, 41, "ruby", 1)
	e.fund(t, 41, math.MaxInt64-10)
	e.fund(t, 42, 1000)
	l, err := e.svc.MarketSell(ctx, op(), 41, "ruby", 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.MarketBuy(ctx, op(), 42, l.ID, 1); !errors.Is(err, economy.ErrOverflow) {
		t.Fatalf("buy overflowing the seller: %v", err)
	}
	if w := e.balance(t, 42).Wallet; w != 1000 {
		t.Fatalf("buyer wallet %d, want 1000", w)
	}
	e.audit(t)
}

// TestMarketRaces runs the races of the exploit table against two nodes
// (services on separate pools): the same listing bought at once by two
// buyers, and a cancel racing a purchase. Exactly one side wins each time.
func TestMarketRaces(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const seller, b1, b2 = 51, 52, 53
	const rounds = 15
	giveItem(t, e, seller, "coal", 2*rounds)
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
	bought := 0
	for i := 0; i < rounds; i++ {
		l, err := e.svc.MarketSell(ctx, op(), seller, "coal", 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		errA, errB := race(
			func() error { _, err := e.svc.MarketBuy(ctx, op(), b1, l.ID, 1); return err },
			func() error { _, err := other.MarketBuy(ctx, op(), b2, l.ID, 1); return err })
		if (errA == nil) == (errB == nil) {
			t.Fatalf("round %d: two buyers of one item: %v, %v", i, errA, errB)
		}
		for _, err := range []error{errA, errB} {
			if err != nil && !errors.Is(err, economy.ErrListingClosed) {
				t.Fatalf("round %d: loser got %v", i, err)
			}
		}
		bought++

		l, err = e.svc.MarketSell(ctx, op(), seller, "coal", 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		errBuy, errCancel := race(
			func() error { _, err := other.MarketBuy(ctx, op(), b1, l.ID, 1); return err },
			func() error { _, err := e.svc.MarketCancel(ctx, op(), seller, l.ID); return err })
		if (errBuy == nil) == (errCancel == nil) {
			t.Fatalf("round %d: buy %v and cancel %v", i, errBuy, errCancel)
		}
		if errBuy == nil {
			bought++
		}
	}
	if got := e.count(t, b1, "coal") + e.count(t, b2, "coal"); got != bought {
		t.Fatalf("buyers hold %d coal, %d were bought", got, bought)
	}
	if got := e.count(t, seller, "coal"); got != 2*rounds-bought {
		t.Fatalf("seller holds %d coal, want %d", got, 2*rounds-bought)
	}
	e.audit(t)
}

// TestMarketExpirySweep returns expired listings' items, once, with two
// nodes sweeping at the same time; an expired listing cannot be bought.
func TestMarketExpirySweep(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const sellers = 6
	for u := int64(61); u < 61+sellers; u++ {
		giveItem(t, e, u, "quartz", 3)
		for i := 0; i < 3; i++ {
			if _, err := e.svc.MarketSell(ctx, op(), u, "quartz", 1, 50); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n, err := e.svc.SweepMarket(ctx, 100); err != nil || n != 0 {
		t.Fatalf("sweep before expiry: %d %v", n, err)
	}
	e.clock.Add(economy.ListingLifetime)
	e.fund(t, 99, 1000)
	mine, _ := e.svc.MarketMine(ctx, 61)
	if _, err := e.svc.MarketBuy(ctx, op(), 99, mine[0].ID, 1); !errors.Is(err, economy.ErrListingClosed) {
		t.Fatalf("buy an expired listing: %v", err)
	}
	var wg sync.WaitGroup
	var n1, n2 int
	var err1, err2 error
	wg.Add(2)
	go func() { defer wg.Done(); n1, err1 = e.svc.SweepMarket(ctx, 100) }()
	go func() { defer wg.Done(); n2, err2 = other.SweepMarket(ctx, 100) }()
	wg.Wait()
	if err1 != nil || err2 != nil || n1+n2 != 3*sellers {
		t.Fatalf("sweeps closed %d + %d listings (%v, %v), want %d", n1, n2, err1, err2, 3*sellers)
	}
	for u := int64(61); u < 61+sellers; u++ {
		if n := e.count(t, u, "quartz"); n != 3 {
			t.Fatalf("seller %d holds %d quartz after expiry, want 3", u, n)
		}
	}
	if n, err := e.svc.SweepMarket(ctx, 100); err != nil || n != 0 {
		t.Fatalf("sweep again: %d %v", n, err)
	}
	e.audit(t)
}

// TestMarketSweeperStops: the sweeper goroutine sweeps and returns when
// its context ends.
func TestMarketSweeperStops(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	giveItem(t, e, 71, "coal", 1)
	if _, err := e.svc.MarketSell(ctx, op(), 71, "coal", 1, 5); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(economy.ListingLifetime + time.Second)
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.svc.RunMarketSweeper(ctx, 10*time.Millisecond, func(err error) { t.Error(err) })
	}()
	poll.Eventually(t, 10*time.Second, func() bool { return e.count(t, 71, "coal") == 1 }, "the sweeper to return the expired item")
	cancel()
	<-done
	e.audit(t)
}

// TestItemAuditFindsMisplacedItems breaks each item invariant by hand and
// expects the audit to say so: an item both in an inventory and in escrow,
// escrow without its ledger movement, and a listing whose escrow is short.
func TestItemAuditFindsMisplacedItems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		breakSQL string
		check    func(r economy.Report) bool
	}{
		{"in two places", `INSERT INTO economy.market_escrow (item_id, listing_id, item_key, acquired_at)
			SELECT id, (SELECT max(id) FROM economy.market_listings), item_key, now() FROM economy.items LIMIT 1`,
			func(r economy.Report) bool { return r.ItemsMisplaced > 0 && r.ItemMismatches > 0 }},
		{"escrow short of its listing", `DELETE FROM economy.market_escrow WHERE item_id = (SELECT min(item_id) FROM economy.market_escrow)`,
			func(r economy.Report) bool { return r.ItemsMisplaced > 0 && r.ItemMismatches > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			giveItem(t, e, 81, "coal", 3)
			if _, err := e.svc.MarketSell(ctx, op(), 81, "coal", 2, 5); err != nil {
				t.Fatal(err)
			}
			e.audit(t)
			if _, err := e.pool.Exec(ctx, tc.breakSQL); err != nil {
				t.Fatal(err)
			}
			r, err := economy.Audit(ctx, e.pool)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || !tc.check(r) {
				t.Fatalf("audit missed it: %+v", r)
			}
		})
	}
}

// TestMarketPriceWindow: /market price's median and volume cover the
// sales of the last PriceWindow; its last sales list goes further back.
func TestMarketPriceWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller, buyer = 61, 62
	giveItem(t, e, seller, "ruby", 3)
	e.fund(t, buyer, 1_000_000)
	sell := func(qty int, price int64) {
		t.Helper()
		l, err := e.svc.MarketSell(ctx, op(), seller, "ruby", qty, price)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.MarketBuy(ctx, op(), buyer, l.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	sell(2, 90_000) // old: outside the window soon
	e.clock.Add(economy.PriceWindow + time.Hour)
	sell(1, 100)
	pr, err := e.svc.MarketPrice(ctx, "ruby")
	if err != nil {
		t.Fatal(err)
	}
	if pr.Median != 100 || pr.Volume != 1 || pr.Credits != 100 || len(pr.Last) != 2 || pr.Last[0].UnitPrice != 100 {
		t.Fatalf("price %+v: want the median and volume of the last sale only, both in the last sales", pr)
	}
}

// setWear gives user's items of key the uses left in wear, one each, in
// item order.
func setWear(t *testing.T, e *env, user int64, key string, wear ...int) {
	t.Helper()
	tag, err := e.pool.Exec(context.Background(), `UPDATE economy.items i SET durability = w.d FROM (
			SELECT id, row_number() OVER (ORDER BY id) AS n FROM economy.items WHERE owner_id = $1 AND item_key = $2) x
		JOIN unnest($3::int[]) WITH ORDINALITY AS w(d, n) ON w.n = x.n WHERE i.id = x.id`, user, key, wear)
	if err != nil || int(tag.RowsAffected()) != len(wear) {
		t.Fatalf("set wear: %v (%d rows)", err, tag.RowsAffected())
	}
}

// TestWearIsShownAndGivenMostWornFirst: a listing shows the uses left of
// the most worn tool in its escrow, and a trade gives the most worn of an
// offered kind first, as the trade window shows it.
func TestWearIsShownAndGivenMostWornFirst(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const seller, trader, partner = 71, 72, 73
	giveItem(t, e, seller, "pickaxe", 3)
	setWear(t, e, seller, "pickaxe", 9, 2, 5)
	l, err := e.svc.MarketSell(ctx, op(), seller, "pickaxe", 2, 100)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.svc.MarketBrowse(ctx, "pickaxe", "", 0)
	if err != nil || len(p.Rows) != 1 || p.Rows[0].ID != l.ID || p.Rows[0].Worn != 2 {
		t.Fatalf("browse %+v %v: want the listing with its most worn pickaxe at 2 uses", p.Rows, err)
	}
	if mine, err := e.svc.MarketMine(ctx, seller); err != nil || len(mine) != 1 || mine[0].Worn != 2 {
		t.Fatalf("mine %+v %v", mine, err)
	}

	giveItem(t, e, trader, "pickaxe", 2)
	setWear(t, e, trader, "pickaxe", 8, 3)
	e.fund(t, partner, 1000)
	tr, err := e.svc.TradeOpen(ctx, op(), trader, partner)
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = e.svc.TradeEdit(ctx, op(), trader, tr.ID, tr.Version, economy.TradeChange{Item: "pickaxe", Qty: 1}); err != nil {
		t.Fatal(err)
	}
	if tr, err = e.svc.TradeEdit(ctx, op(), partner, tr.ID, tr.Version, economy.TradeChange{Credits: 100}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []int64{trader, partner} {
		if tr, err = e.svc.TradeConfirm(ctx, op(), u, tr.ID, tr.Version); err != nil {
			t.Fatal(err)
		}
	}
	var got int
	if err := e.pool.QueryRow(ctx, `SELECT durability FROM economy.items WHERE owner_id = $1 AND item_key = 'pickaxe'`, partner).Scan(&got); err != nil || got != 3 {
		t.Fatalf("the partner received a pickaxe with %d uses (%v), want the most worn (3)", got, err)
	}

	// The offer records the wear the partner saw (8 uses); the tool wears
	// down before the partner confirms: the swap is refused, nothing moves.
	if tr, err = e.svc.TradeOpen(ctx, op(), trader, partner); err != nil {
		t.Fatal(err)
	}
	if tr, err = e.svc.TradeEdit(ctx, op(), trader, tr.ID, tr.Version, economy.TradeChange{Item: "pickaxe", Qty: 1}); err != nil || tr.Offers[0].Worn["pickaxe"] != 8 {
		t.Fatalf("offer %+v %v: want the wear recorded", tr.Offers[0], err)
	}
	if tr, err = e.svc.TradeConfirm(ctx, op(), trader, tr.ID, tr.Version); err != nil {
		t.Fatal(err)
	}
	setWear(t, e, trader, "pickaxe", 7)
	if _, err := e.svc.TradeConfirm(ctx, op(), partner, tr.ID, tr.Version); !errors.Is(err, economy.ErrTradeWorn) {
		t.Fatalf("confirm after the wear: %v, want %v", err, economy.ErrTradeWorn)
	}
	if n := e.count(t, trader, "pickaxe"); n != 1 {
		t.Fatalf("the trader holds %d pickaxes after a refused swap", n)
	}
	e.audit(t)
}
