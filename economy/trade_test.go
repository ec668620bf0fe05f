package economy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

func TestTradeSwap(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const a, b = 101, 102
	giveItem(t, e, a, "ruby", 3)
	giveItem(t, e, b, "diamond", 1)
	e.fund(t, a, 5000)
	e.fund(t, b, 1000)
	tr, err := e.svc.TradeOpen(ctx, op(), a, b)
	if err != nil || tr.Version != 1 {
		t.Fatalf("open: %+v %v", tr, err)
	}
	edit := func(user int64, c economy.TradeChange) {
		t.Helper()
		if tr, err = e.svc.TradeEdit(ctx, op(), user, tr.ID, tr.Version, c); err != nil {
			t.Fatalf("edit %+v: %v", c, err)
		}
	}
	edit(a, economy.TradeChange{Item: "ruby", Qty: 2})
	edit(a, economy.TradeChange{Credits: 1500})
	edit(b, economy.TradeChange{Item: "diamond", Qty: 1})
	if tr.Version != 4 {
		t.Fatalf("version %d after three edits, want 4", tr.Version)
	}
	confirmOp := op()
	if tr, err = e.svc.TradeConfirm(ctx, confirmOp, a, tr.ID, tr.Version); err != nil || tr.State != "open" {
		t.Fatalf("a confirms: %+v %v", tr, err)
	}
	done, err := e.svc.TradeConfirm(ctx, op(), b, tr.ID, tr.Version)
	if err != nil || done.State != "done" {
		t.Fatalf("b confirms: %+v %v", done, err)
	}
	for _, c := range []struct {
		user   int64
		key    string
		n      int
		wallet int64
	}{{a, "ruby", 1, 3500}, {a, "diamond", 1, 3500}, {b, "ruby", 2, 2500}, {b, "diamond", 0, 2500}} {
		if got := e.count(t, c.user, c.key); got != c.n {
			t.Errorf("%d holds %d %s, want %d", c.user, got, c.key, c.n)
		}
		if w := e.balance(t, c.user).Wallet; w != c.wallet {
			t.Errorf("%d's wallet %d, want %d", c.user, w, c.wallet)
		}
	}
	// The first confirmation replayed returns what it returned then.
	if again, err := e.svc.TradeConfirm(ctx, confirmOp, a, tr.ID, tr.Version); err != nil || again.State != "open" {
		t.Fatalf("replayed confirmation: %+v %v", again, err)
	}
	if _, err := e.svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version); !errors.Is(err, economy.ErrTradeClosed) {
		t.Fatalf("confirm a finished trade: %v", err)
	}
	e.audit(t)
}

// TestTradeExploits is the exploit table for trades.
func TestTradeExploits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const a, b, c = 111, 112, 113
	giveItem(t, e, a, "ruby", 1)
	giveItem(t, e, a, "diamond", 1)
	giveItem(t, e, b, "coal", 5)
	e.fund(t, a, 1000)

	t.Run("trade with yourself", func(t *testing.T) {
		if _, err := e.svc.TradeOpen(ctx, op(), a, a); !errors.Is(err, economy.ErrSelfTrade) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("change after the other confirmed", func(t *testing.T) {
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		tr, _ = e.svc.TradeEdit(ctx, op(), b, tr.ID, tr.Version, economy.TradeChange{Item: "coal", Qty: 5})
		tr, _ = e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "ruby", Qty: 1})
		seen := tr.Version
		tr, err := e.svc.TradeConfirm(ctx, op(), b, tr.ID, seen) // b agrees to a ruby for 5 coal
		if err != nil {
			t.Fatal(err)
		}
		// a swaps the ruby out for nothing after b confirmed.
		tr, err = e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "ruby", Qty: -1})
		if err != nil || tr.Confirmed != [2]int{} {
			t.Fatalf("edit after confirmation: %+v %v", tr, err)
		}
		// a confirms at once: b's confirmation was cleared, nothing moves.
		tr, err = e.svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version)
		if err != nil || tr.State != "open" {
			t.Fatalf("a's confirmation alone swapped: %+v %v", tr, err)
		}
		// b's old button carries the version b saw: stale.
		if _, err := e.svc.TradeConfirm(ctx, op(), b, tr.ID, seen); !errors.Is(err, economy.ErrStaleTrade) {
			t.Fatalf("confirm a stale version: %v", err)
		}
		if e.count(t, b, "coal") != 5 || e.count(t, a, "ruby") != 1 {
			t.Fatal("items moved without both confirmations of one version")
		}
		e.svc.TradeCancel(ctx, op(), a, tr.ID)
	})
	t.Run("a stranger edits", func(t *testing.T) {
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		if _, err := e.svc.TradeEdit(ctx, op(), c, tr.ID, tr.Version, economy.TradeChange{Credits: 1}); !errors.Is(err, economy.ErrNotInTrade) {
			t.Fatalf("got %v", err)
		}
		if _, err := e.svc.TradeConfirm(ctx, op(), c, tr.ID, tr.Version); !errors.Is(err, economy.ErrNotInTrade) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("offer what you lack, or more credits than you hold", func(t *testing.T) {
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		if _, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "star_shard", Qty: 1}); !errors.Is(err, economy.ErrNotEnoughItems) {
			t.Fatalf("got %v", err)
		}
		if _, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Credits: 1001}); !errors.Is(err, economy.ErrInsufficientFunds) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("trade an item listed on the market", func(t *testing.T) {
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		tr, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "diamond", Qty: 1})
		if err != nil {
			t.Fatal(err)
		}
		tr, _ = e.svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version)
		l, err := e.svc.MarketSell(ctx, op(), a, "diamond", 1, 100) // listed after it was offered
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.TradeConfirm(ctx, op(), b, tr.ID, tr.Version); !errors.Is(err, economy.ErrNotEnoughItems) {
			t.Fatalf("swap of a listed item: %v", err)
		}
		if _, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "diamond", Qty: 1}); !errors.Is(err, economy.ErrNotEnoughItems) {
			t.Fatalf("offer a listed item: %v", err)
		}
		if _, err := e.svc.MarketCancel(ctx, op(), a, l.ID); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("trade a vaulted item", func(t *testing.T) {
		if _, err := e.svc.VaultAdd(ctx, op(), a, "diamond"); err != nil {
			t.Fatal(err)
		}
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		if _, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "diamond", Qty: 1}); !errors.Is(err, economy.ErrNotEnoughItems) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tr, _ := e.svc.TradeOpen(ctx, op(), a, b)
		e.clock.Add(economy.TradeLifetime)
		if _, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Credits: 1}); !errors.Is(err, economy.ErrTradeExpired) {
			t.Fatalf("got %v", err)
		}
	})
	if e.count(t, a, "ruby") != 1 || e.count(t, a, "diamond") != 1 || e.count(t, b, "coal") != 5 || e.balance(t, a).Wallet != 1000 {
		t.Fatal("a refused trade moved something")
	}
	e.audit(t)
}

// TestTradeSameItemTwice offers one item in two trades and confirms both
// at once from two nodes: one swap happens, the other is refused.
func TestTradeSameItemTwice(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const a, b, c = 121, 122, 123
	const rounds = 10
	giveItem(t, e, a, "ruby", rounds)
	e.fund(t, b, 100_000)
	e.fund(t, c, 100_000)
	for i := 0; i < rounds; i++ {
		var trades [2]economy.Trade
		for j, to := range []int64{b, c} {
			tr, _ := e.svc.TradeOpen(ctx, op(), a, to)
			tr, err := e.svc.TradeEdit(ctx, op(), a, tr.ID, tr.Version, economy.TradeChange{Item: "ruby", Qty: 1})
			if err != nil {
				t.Fatal(err)
			}
			tr, _ = e.svc.TradeEdit(ctx, op(), to, tr.ID, tr.Version, economy.TradeChange{Credits: 100})
			tr, err = e.svc.TradeConfirm(ctx, op(), a, tr.ID, tr.Version)
			if err != nil {
				t.Fatal(err)
			}
			trades[j] = tr
		}
		// a holds rounds-i rubies; leave exactly one.
		if n := e.count(t, a, "ruby"); n > 1 {
			if _, err := e.svc.Sell(ctx, op(), a, "ruby", n-1); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var errs [2]error
		for j, svc := range []*economy.Service{e.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = svc.TradeConfirm(ctx, op(), []int64{b, c}[j], trades[j].ID, trades[j].Version)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("round %d: one ruby in two trades: %v, %v", i, errs[0], errs[1])
		}
		for _, err := range errs {
			if err != nil && !errors.Is(err, economy.ErrNotEnoughItems) {
				t.Fatalf("round %d: loser got %v", i, err)
			}
		}
		if e.count(t, a, "ruby") != 0 {
			t.Fatalf("round %d: a still holds the ruby", i)
		}
		giveItem(t, e, a, "ruby", rounds)
	}
	if got := e.count(t, b, "ruby") + e.count(t, c, "ruby"); got != rounds {
		t.Fatalf("b and c hold %d rubies, want %d", got, rounds)
	}
	e.audit(t)
}
