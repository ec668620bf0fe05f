package economy_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

func TestPay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 1000)
	e.fund(t, 3, 10)
	// User 4 is one credit short of overflowing.
	e.fund(t, 4, math.MaxInt64-1)
	cases := []struct {
		name       string
		req        economy.PayRequest
		want       error
		fromWallet int64
		toWallet   int64
	}{
		{"self", economy.PayRequest{From: 1, To: 1, Amount: economy.Exact(5)}, economy.ErrSelfPay, 1000, 1000},
		{"bot", economy.PayRequest{From: 1, To: 2, ToBot: true, Amount: economy.Exact(5)}, economy.ErrBotRecipient, 1000, 0},
		{"zero", economy.PayRequest{From: 1, To: 2, Amount: economy.Exact(0)}, economy.ErrNonPositive, 1000, 0},
		{"negative", economy.PayRequest{From: 1, To: 2, Amount: economy.Exact(-5)}, economy.ErrNonPositive, 1000, 0},
		{"more than wallet", economy.PayRequest{From: 1, To: 2, Amount: economy.Exact(1001)}, economy.ErrInsufficientFunds, 1000, 0},
		{"overflow payee", economy.PayRequest{From: 3, To: 4, Amount: economy.Exact(2)}, economy.ErrOverflow, 10, math.MaxInt64 - 1},
		{"bad user", economy.PayRequest{From: 0, To: 2, Amount: economy.Exact(5)}, economy.ErrBadUser, 0, 0},
		{"ok to new account (higher id)", economy.PayRequest{From: 1, To: 2, Amount: economy.Exact(300)}, nil, 700, 300},
		{"ok to lower id", economy.PayRequest{From: 2, To: 1, Amount: economy.Exact(100)}, nil, 200, 800},
		{"half", economy.PayRequest{From: 2, To: 1, Amount: economy.Amount{Half: true}}, nil, 100, 900},
		{"all", economy.PayRequest{From: 2, To: 1, Amount: economy.Amount{All: true}}, nil, 0, 1000},
		{"all of nothing", economy.PayRequest{From: 2, To: 1, Amount: economy.Amount{All: true}}, economy.ErrNonPositive, 0, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.req.Op = op()
			p, err := e.svc.Pay(ctx, c.req)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.want == nil && (p.FromWallet != c.fromWallet || p.ToWallet != c.toWallet) {
				t.Fatalf("result %+v, want wallets %d/%d", p, c.fromWallet, c.toWallet)
			}
			if c.req.From > 0 {
				if w := e.balance(t, c.req.From).Wallet; w != c.fromWallet {
					t.Fatalf("payer wallet %d, want %d", w, c.fromWallet)
				}
				if w := e.balance(t, c.req.To).Wallet; w != c.toWallet {
					t.Fatalf("payee wallet %d, want %d", w, c.toWallet)
				}
			}
		})
	}
	e.audit(t)
	if n := mustCounter(t, e, "pay"); n < 4 {
		t.Fatalf("transactions_total{kind=pay} = %v", n)
	}
}

func mustCounter(t *testing.T, e *env, kind string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "chopsticks_economy_transactions_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "kind" && l.GetValue() == kind {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func TestPayExactlyOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 100)
	req := economy.PayRequest{Op: "interaction-1", From: 1, To: 2, Amount: economy.Exact(60)}
	first, err := e.svc.Pay(ctx, req)
	if err != nil || first.Replayed {
		t.Fatalf("first: %+v %v", first, err)
	}
	again, err := e.svc.Pay(ctx, req)
	if err != nil || !again.Replayed || again.FromWallet != 40 || again.ToWallet != 60 {
		t.Fatalf("replay: %+v %v", again, err)
	}
	// A replay of a refused operation returns the refusal, even when it
	// would succeed now.
	bad := economy.PayRequest{Op: "interaction-2", From: 2, To: 1, Amount: economy.Exact(61)}
	if _, err := e.svc.Pay(ctx, bad); !errors.Is(err, economy.ErrInsufficientFunds) {
		t.Fatalf("want insufficient, got %v", err)
	}
	e.fund(t, 2, 100)
	if _, err := e.svc.Pay(ctx, bad); !errors.Is(err, economy.ErrInsufficientFunds) {
		t.Fatalf("replayed refusal: got %v", err)
	}
	if a := e.balance(t, 1); a.Wallet != 40 {
		t.Fatalf("wallet %d", a.Wallet)
	}
	e.audit(t)
}

func TestBank(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 15000)
	e.fund(t, 2, math.MaxInt64-5)
	cases := []struct {
		name         string
		user         int64
		deposit      bool
		amount       string
		want         error
		wallet, bank int64
	}{
		{"deposit zero", 1, true, "0", economy.ErrNonPositive, 15000, 0},
		{"deposit more than wallet", 1, true, "20k", economy.ErrInsufficientFunds, 15000, 0},
		{"deposit past capacity", 1, true, "11k", economy.ErrBankFull, 15000, 0},
		{"deposit", 1, true, "1.5k", nil, 13500, 1500},
		{"deposit all fills the bank", 1, true, "all", nil, 5000, 10000},
		{"deposit when full", 1, true, "1", economy.ErrBankFull, 5000, 10000},
		{"deposit all when full", 1, true, "all", economy.ErrBankFull, 5000, 10000},
		{"withdraw more than bank", 1, false, "10001", economy.ErrInsufficientBank, 5000, 10000},
		{"withdraw half", 1, false, "half", nil, 10000, 5000},
		{"withdraw", 1, false, "5000", nil, 15000, 0},
		{"withdraw from empty bank", 1, false, "all", economy.ErrNonPositive, 15000, 0},
		{"deposit for overflow test", 2, true, "10", nil, math.MaxInt64 - 15, 10},
		{"withdraw into full wallet", 2, false, "10", nil, math.MaxInt64 - 5, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			amt, err := economy.ParseAmount(c.amount)
			if err != nil && !errors.Is(err, c.want) {
				t.Fatal(err)
			}
			if err == nil {
				if c.deposit {
					_, err = e.svc.Deposit(ctx, op(), c.user, amt)
				} else {
					_, err = e.svc.Withdraw(ctx, op(), c.user, amt)
				}
			}
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			a := e.balance(t, c.user)
			if a.Wallet != c.wallet || a.Bank != c.bank {
				t.Fatalf("wallet/bank %d/%d, want %d/%d", a.Wallet, a.Bank, c.wallet, c.bank)
			}
		})
	}
	e.audit(t)
}

func TestDailyStreak(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cat := e.svc.Catalog()
	day := 24 * time.Hour
	steps := []struct {
		name      string
		advance   time.Duration
		buyShield bool
		want      error
		streak    int
		decayed   bool
	}{
		{"first claim", 0, false, nil, 1, false},
		{"same day", time.Hour, false, economy.ErrCooldown, 1, false},
		{"next day", day, false, nil, 2, false},
		{"day 3", day, false, nil, 3, false},
		{"day 4", day, false, nil, 4, false},
		{"missed one day halves", 2 * day, false, nil, 3, true},
		{"shield covers one missed day", 2 * day, true, nil, 4, false},
		{"missed two days quarters", 3 * day, false, nil, 2, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			e.clock.Add(s.advance)
			if s.buyShield {
				e.fund(t, 1, 2500)
				if _, err := e.svc.Buy(ctx, op(), 1, "streak_shield", 1); err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.Use(ctx, op(), 1, "streak_shield"); err != nil {
					t.Fatal(err)
				}
			}
			before := e.balance(t, 1).Wallet
			r, err := e.svc.Daily(ctx, op(), 1)
			if !errors.Is(err, s.want) || (s.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, s.want)
			}
			if err != nil {
				if until, ok := economy.ReadyAt(err); !ok || !until.After(e.clock.Now()) {
					t.Fatalf("cooldown error without a future time: %v", err)
				}
				if after := e.balance(t, 1).Wallet; after != before {
					t.Fatalf("refused daily paid %d", after-before)
				}
				return
			}
			if r.Streak != s.streak || r.Decayed != s.decayed {
				t.Fatalf("streak %d decayed %v, want %d %v", r.Streak, r.Decayed, s.streak, s.decayed)
			}
			wantReward := cat.Daily.Base * cat.DailyPercent(s.streak) / 100
			if r.Reward != wantReward || e.balance(t, 1).Wallet != before+wantReward {
				t.Fatalf("reward %d, want %d", r.Reward, wantReward)
			}
			if !r.Next.After(e.clock.Now()) {
				t.Fatalf("next claim %v not after now", r.Next)
			}
		})
	}
	e.audit(t)
}

func TestDailyMultiplierCap(t *testing.T) {
	cat := economy.DefaultCatalog()
	if got := cat.DailyPercent(1); got != 100 {
		t.Fatalf("day 1: %d%%", got)
	}
	if got := cat.DailyPercent(1000); got != 300 {
		t.Fatalf("day 1000: %d%%, want the 3.0x cap", got)
	}
	for s := 1; s < 100; s++ {
		if cat.DailyPercent(s+1) < cat.DailyPercent(s) {
			t.Fatalf("multiplier falls at streak %d", s)
		}
	}
}

func TestDailyOnceUnderConcurrency(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, err := e.svc.Daily(ctx, op(), 7); errs <- err }()
	}
	ok := 0
	for range 8 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, economy.ErrCooldown):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d dailies paid, want 1", ok)
	}
	e.audit(t)
}

func TestWork(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Work(ctx, op(), 1, "astronaut"); !errors.Is(err, economy.ErrUnknownJob) {
		t.Fatalf("unknown job: %v", err)
	}
	for _, j := range e.svc.Catalog().Jobs {
		t.Run(j.Key, func(t *testing.T) {
			s, err := e.svc.Work(ctx, op(), 1, j.Key)
			if err != nil {
				t.Fatal(err)
			}
			if s.Pay < j.MinPay || s.Pay > j.MaxPay || s.Flavour == "" || s.JobName != j.Name {
				t.Fatalf("shift %+v outside job %+v", s, j)
			}
			if _, err := e.svc.Work(ctx, op(), 1, j.Key); !errors.Is(err, economy.ErrCooldown) {
				t.Fatalf("second shift: %v, want cooldown", err)
			}
		})
	}
	// Coffee raises pay by its percent.
	e.clock.Add(3 * time.Hour)
	e.fund(t, 1, 800)
	if _, err := e.svc.Buy(ctx, op(), 1, "coffee", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Use(ctx, op(), 1, "coffee"); err != nil {
		t.Fatal(err)
	}
	s, err := e.svc.Work(ctx, op(), 1, "code_review")
	if err != nil {
		t.Fatal(err)
	}
	if s.BonusPercent != 50 || s.Pay < 150*3/2 || s.Pay > 400*3/2 {
		t.Fatalf("boosted shift %+v", s)
	}
	e.audit(t)
}

func TestShopGatherAndItems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.svc.Gather(ctx, op(), 1, ""); !errors.Is(err, economy.ErrNoTool) {
		t.Fatalf("gather without tool: %v", err)
	}
	e.fund(t, 1, 10000)
	rejections := []struct {
		name string
		do   func() error
		want error
	}{
		{"buy unknown", func() error { _, err := e.svc.Buy(ctx, op(), 1, "unicorn", 1); return err }, economy.ErrUnknownItem},
		{"buy collectible", func() error { _, err := e.svc.Buy(ctx, op(), 1, "diamond", 1); return err }, economy.ErrNotForSale},
		{"buy zero", func() error { _, err := e.svc.Buy(ctx, op(), 1, "coffee", 0); return err }, economy.ErrBadQuantity},
		{"buy too many", func() error { _, err := e.svc.Buy(ctx, op(), 1, "coffee", 101); return err }, economy.ErrBadQuantity},
		{"buy unaffordable", func() error { _, err := e.svc.Buy(ctx, op(), 1, "metal_detector", 3); return err }, economy.ErrInsufficientFunds},
		{"sell unowned", func() error { _, err := e.svc.Sell(ctx, op(), 1, "diamond", 1); return err }, economy.ErrNotEnoughItems},
		{"sell unsellable", func() error { _, err := e.svc.Sell(ctx, op(), 1, "bank_note", 1); return err }, economy.ErrNotSellable},
		{"use unowned", func() error { _, err := e.svc.Use(ctx, op(), 1, "coffee"); return err }, economy.ErrNotEnoughItems},
		{"use tool", func() error { _, err := e.svc.Use(ctx, op(), 1, "pickaxe"); return err }, economy.ErrNotUsable},
		{"gather with non-tool", func() error { _, err := e.svc.Gather(ctx, op(), 1, "coffee"); return err }, economy.ErrNotTool},
		{"vault common", func() error { _, err := e.svc.VaultAdd(ctx, op(), 1, "pebble"); return err }, economy.ErrNotVaultable},
		{"vault unowned", func() error { _, err := e.svc.VaultAdd(ctx, op(), 1, "diamond"); return err }, economy.ErrNotEnoughItems},
		{"unvault absent", func() error { _, err := e.svc.VaultRemove(ctx, op(), 1, "diamond"); return err }, economy.ErrNotInVault},
	}
	for _, r := range rejections {
		t.Run(r.name, func(t *testing.T) {
			if err := r.do(); !errors.Is(err, r.want) {
				t.Fatalf("err = %v, want %v", err, r.want)
			}
		})
	}
	if a := e.balance(t, 1); a.Wallet != 10000 {
		t.Fatalf("rejections changed the wallet: %d", a.Wallet)
	}
	p, err := e.svc.Buy(ctx, op(), 1, "fishing_rod", 2)
	if err != nil || p.Total != 2000 || p.Wallet != 8000 {
		t.Fatalf("buy: %+v %v", p, err)
	}
	// Two rods of durability 15 give 30 finds, then no tool.
	finds := 0
	broke := 0
	for i := 0; i < 40; i++ {
		f, err := e.svc.Gather(ctx, op(), 1, "fishing_rod")
		if errors.Is(err, economy.ErrNoTool) {
			break
		}
		if errors.Is(err, economy.ErrCooldown) {
			t.Fatal("cooldown right after advancing the clock")
		}
		if err != nil {
			t.Fatal(err)
		}
		it, ok := e.svc.Catalog().Item(f.Item)
		if !ok || it.Rarity != f.Rarity || it.Kind != "fish" {
			t.Fatalf("find %+v not from the rod's table", f)
		}
		if f.Broke {
			broke++
		}
		finds++
		e.clock.Add(time.Minute)
		// Gather cooldown holds between finds.
		if i == 0 {
			if _, err := e.svc.Gather(ctx, op(), 1, ""); err != nil && !errors.Is(err, economy.ErrCooldown) {
				t.Fatal(err)
			}
			e.clock.Add(time.Minute)
		}
	}
	if finds != 30 && finds != 29 || broke != 2 {
		// The extra gather right after the first find counts if it was not on cooldown.
		t.Fatalf("finds %d, broke %d; want 30 finds and 2 broken rods", finds, broke)
	}
	col, err := e.svc.Collection(ctx, 1, "fish")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range col.Entries {
		total += c.Found
	}
	if total < 29 || col.Total != 7 || col.Have == 0 {
		t.Fatalf("collection %+v", col)
	}
	if _, err := e.svc.Collection(ctx, 1, "nonsense"); !errors.Is(err, economy.ErrUnknownItem) {
		t.Fatalf("bad filter: %v", err)
	}
	inv, err := e.svc.Inventory(ctx, 1, 0)
	if err != nil || len(inv.Rows) == 0 {
		t.Fatalf("inventory %+v %v", inv, err)
	}
	if _, err := e.svc.Inventory(ctx, 1, 50); !errors.Is(err, economy.ErrBadPage) {
		t.Fatalf("page 50: %v", err)
	}
	// Sell everything found; the wallet grows by the sell prices.
	before := e.balance(t, 1).Wallet
	var want int64
	for _, st := range inv.Rows {
		it, _ := e.svc.Catalog().Item(st.Item)
		if _, err := e.svc.Sell(ctx, op(), 1, st.Item, st.Count); err != nil {
			t.Fatalf("sell %s: %v", st.Item, err)
		}
		want += it.Sell * int64(st.Count)
	}
	if got := e.balance(t, 1).Wallet - before; got != want {
		t.Fatalf("sold for %d, want %d", got, want)
	}
	e.audit(t)
}

func TestVault(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// Give user 1 two diamonds through the item ledger, as a find would.
	giveItem(t, e, 1, "diamond", 2)
	v, err := e.svc.VaultAdd(ctx, op(), 1, "diamond")
	if err != nil || v.Item != "diamond" {
		t.Fatalf("vault add: %+v %v", v, err)
	}
	list, err := e.svc.Vault(ctx, 1)
	if err != nil || len(list) != 1 {
		t.Fatalf("vault view: %+v %v", list, err)
	}
	// Another user can view it; the vaulted diamond cannot be sold.
	if _, err := e.svc.Sell(ctx, op(), 1, "diamond", 2); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("sold a vaulted item: %v", err)
	}
	if _, err := e.svc.Sell(ctx, op(), 1, "diamond", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.VaultAdd(ctx, op(), 1, "diamond"); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("vaulted the same item twice: %v", err)
	}
	if _, err := e.svc.VaultRemove(ctx, op(), 1, "diamond"); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.Vault(ctx, 1); len(list) != 0 {
		t.Fatalf("vault after remove: %+v", list)
	}
	e.audit(t)
}

func giveItem(t *testing.T, e *env, user int64, key string, n int) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, result) VALUES ($1, $2, 'grant', '{}') RETURNING id`,
		string(op()), user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key) SELECT $1, $2 FROM generate_series(1, $3)`, user, key, n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.item_legs (tx_id, owner_id, item_key, delta, reason) VALUES ($1, $2, $3, $4, 'grant')`, id, user, key, n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.accounts (user_id) VALUES ($1) ON CONFLICT DO NOTHING`, user); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestUseBuffs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 10000)
	for _, k := range []string{"lucky_charm", "lucky_charm", "bank_note"} {
		if _, err := e.svc.Buy(ctx, op(), 1, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	u1, err := e.svc.Use(ctx, op(), 1, "lucky_charm")
	if err != nil {
		t.Fatal(err)
	}
	u2, err := e.svc.Use(ctx, op(), 1, "lucky_charm")
	if err != nil {
		t.Fatal(err)
	}
	if u2.Until.Sub(*u1.Until).Round(time.Minute) != 30*time.Minute {
		t.Fatalf("second charm should extend by 30m: %v then %v", u1.Until, u2.Until)
	}
	u3, err := e.svc.Use(ctx, op(), 1, "bank_note")
	if err != nil || u3.BankCapacity != 15000 || e.balance(t, 1).BankCapacity != 15000 {
		t.Fatalf("bank note: %+v %v", u3, err)
	}
	buffs, err := e.svc.Buffs(ctx, 1)
	if err != nil || len(buffs) != 1 || buffs[0].Kind != economy.BuffGatherLuck {
		t.Fatalf("buffs %+v %v", buffs, err)
	}
	e.audit(t)
}

func TestExactlyOnceEveryCommand(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 100000)
	type call func(economy.Op) (any, error)
	calls := []struct {
		name string
		do   call
	}{
		{"daily", func(o economy.Op) (any, error) { return e.svc.Daily(ctx, o, 1) }},
		{"work", func(o economy.Op) (any, error) { return e.svc.Work(ctx, o, 1, "dj_gig") }},
		{"deposit", func(o economy.Op) (any, error) { return e.svc.Deposit(ctx, o, 1, economy.Exact(100)) }},
		{"withdraw", func(o economy.Op) (any, error) { return e.svc.Withdraw(ctx, o, 1, economy.Exact(50)) }},
		{"buy", func(o economy.Op) (any, error) { return e.svc.Buy(ctx, o, 1, "pickaxe", 2) }},
		{"gather", func(o economy.Op) (any, error) { return e.svc.Gather(ctx, o, 1, "pickaxe") }},
		{"sell", func(o economy.Op) (any, error) { return e.svc.Sell(ctx, o, 1, "pickaxe", 1) }},
		{"buy coffee", func(o economy.Op) (any, error) { return e.svc.Buy(ctx, o, 1, "coffee", 1) }},
		{"use", func(o economy.Op) (any, error) { return e.svc.Use(ctx, o, 1, "coffee") }},
		{"pay", func(o economy.Op) (any, error) {
			return e.svc.Pay(ctx, economy.PayRequest{Op: o, From: 1, To: 2, Amount: economy.Exact(7)})
		}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			o := op()
			first, err := c.do(o)
			if err != nil {
				t.Fatal(err)
			}
			a1 := e.balance(t, 1)
			r1 := e.audit(t)
			e.clock.Add(24 * time.Hour) // cooldowns would not stop a second application
			for range 3 {
				again, err := c.do(o)
				if err != nil {
					t.Fatalf("replay: %v", err)
				}
				if normalize(again) != normalize(first) {
					t.Fatalf("replay result %+v differs from first %+v", again, first)
				}
			}
			if a2 := e.balance(t, 1); a2 != a1 {
				t.Fatalf("replay changed the account: %+v -> %+v", a1, a2)
			}
			if r2 := e.audit(t); r2.Transactions != r1.Transactions {
				t.Fatalf("replay stored %d new operations", r2.Transactions-r1.Transactions)
			}
		})
	}
}

// normalize drops the fields that legitimately differ on a replay.
func normalize(v any) any {
	switch p := v.(type) {
	case economy.Payment:
		p.Replayed, p.TxID = false, 0
		return p
	case economy.Used:
		if p.Until != nil {
			u := p.Until.UTC()
			p.Until = &u
		}
		return *p.Until
	case economy.DailyReward:
		p.Next = p.Next.UTC()
		return p
	case economy.Shift:
		p.Next = p.Next.UTC()
		return p
	case economy.Find:
		p.Next = p.Next.UTC()
		return p
	}
	return v
}

func TestCurrencyLog(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 1000)
	for i := 0; i < 12; i++ {
		if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(), From: 1, To: 2, Amount: economy.Exact(int64(i + 1))}); err != nil {
			t.Fatal(err)
		}
	}
	p0, err := e.svc.CurrencyLog(ctx, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p0.Total != 13 || p0.Pages != 2 || len(p0.Rows) != 10 || p0.Rows[0].Amount != -12 || p0.Rows[0].Kind != "pay" {
		t.Fatalf("page 0: %+v", p0)
	}
	p1, err := e.svc.CurrencyLog(ctx, 1, 1)
	if err != nil || len(p1.Rows) != 3 || p1.Rows[2].Amount != 1000 {
		t.Fatalf("page 1: %+v %v", p1, err)
	}
	if _, err := e.svc.CurrencyLog(ctx, 1, 2); !errors.Is(err, economy.ErrBadPage) {
		t.Fatalf("page 2: %v", err)
	}
	p2, err := e.svc.CurrencyLog(ctx, 2, 0)
	if err != nil || p2.Rows[0].Amount != 12 {
		t.Fatalf("payee log: %+v %v", p2, err)
	}
}
