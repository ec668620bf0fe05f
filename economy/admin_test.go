package economy_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// opRow is what the operation row of an admin adjustment records.
type opRow struct {
	kind, memo, reason string
	admin              int64
}

func (e *env) opRow(t *testing.T, o economy.Op) (opRow, bool) {
	t.Helper()
	var r opRow
	var admin *int64
	var reason *string
	err := e.pool.QueryRow(context.Background(), `SELECT kind, memo, admin_id, reason FROM economy.transactions WHERE op_id = $1`,
		string(o)).Scan(&r.kind, &r.memo, &admin, &reason)
	if err != nil {
		return opRow{}, false
	}
	if admin != nil {
		r.admin = *admin
	}
	if reason != nil {
		r.reason = *reason
	}
	return r, true
}

// systemLegs returns the sum of the legs of a system account, in decimal.
func (e *env) systemLegs(t *testing.T, counter int64) string {
	t.Helper()
	var n string
	if err := e.pool.QueryRow(context.Background(), `SELECT coalesce(sum(amount), 0)::text FROM economy.ledger_legs WHERE account_id = $1`,
		counter).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAdjustCredits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const admin, alice, rich = 900, 10, 11
	e.fund(t, rich, math.MaxInt64-5)
	// Steps run in order against one database; a step with the same op as
	// an earlier one is a replay and must answer like it.
	steps := []struct {
		name       string
		op         economy.Op
		admin      int64
		user       int64
		amount     int64
		reason     string
		wantErr    error
		wantWallet int64 // alice's wallet afterwards
		stored     bool  // the operation row exists afterwards
	}{
		{"grant to a new account", "g1", admin, alice, 1500, "tournament prize", nil, 1500, true},
		{"replayed grant", "g1", admin, alice, 1500, "tournament prize", nil, 1500, true},
		{"removal", "r1", admin, alice, -500, "correction", nil, 1000, true},
		{"removal past the wallet", "r2", admin, alice, -5000, "too much", economy.ErrInsufficientFunds, 1000, true},
		{"replayed refused removal", "r2", admin, alice, -5000, "too much", economy.ErrInsufficientFunds, 1000, true},
		{"remove everything", "r3", admin, alice, -1000, "reset", nil, 0, true},
		{"grant past int64", "o1", admin, rich, 6, "overflow", economy.ErrOverflow, 0, true},
		{"grant up to int64", "o2", admin, rich, 5, "to the brim", nil, 0, true},
		{"zero amount", "z1", admin, alice, 0, "nothing", economy.ErrZeroAdjustment, 0, false},
		{"MinInt64", "m1", admin, alice, math.MinInt64, "cannot negate", economy.ErrOverflow, 0, false},
		{"bad user", "b1", admin, 0, 10, "nobody", economy.ErrBadUser, 0, false},
		{"bad admin", "b2", 0, alice, 10, "nobody did it", economy.ErrBadUser, 0, false},
		{"empty reason", "b3", admin, alice, 10, "  ", economy.ErrBadReason, 0, false},
		{"reason on two lines", "b4", admin, alice, 10, "a\nb", economy.ErrBadReason, 0, false},
		{"reason too long", "b5", admin, alice, 10, strings.Repeat("x", 201), economy.ErrBadReason, 0, false},
		{"no operation", "", admin, alice, 10, "no op", economy.ErrBadOperation, 0, false},
	}
	for _, s := range steps {
		a, err := e.svc.AdjustCredits(ctx, s.op, s.admin, s.user, s.amount, s.reason)
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		if err != nil && !errors.As(err, new(*refusal.Error)) {
			t.Fatalf("%s: %v is not a rejection", s.name, err)
		}
		if s.user == alice && s.wantErr == nil && (a.UserID != alice || a.Wallet != s.wantWallet) {
			t.Errorf("%s: answered %+v, want wallet %d", s.name, a, s.wantWallet)
		}
		if got := e.balance(t, alice).Wallet; got != s.wantWallet {
			t.Errorf("%s: alice's wallet %d, want %d", s.name, got, s.wantWallet)
		}
		row, ok := e.opRow(t, s.op)
		if ok != s.stored {
			t.Fatalf("%s: operation row stored %v, want %v", s.name, ok, s.stored)
		}
		if ok && (row.kind != "admin_credits" || row.admin != s.admin || row.reason != strings.TrimSpace(s.reason) ||
			!strings.Contains(row.memo, s.reason)) {
			t.Errorf("%s: operation row %+v", s.name, row)
		}
	}
	if got := e.balance(t, rich).Wallet; got != math.MaxInt64 {
		t.Errorf("rich wallet %d, want MaxInt64", got)
	}
	// Minted 1500 + 5 (and the fund), sunk 500 + 1000, through the ledger.
	if got := e.systemLegs(t, economy.Sink); got != "1500" {
		t.Errorf("sink legs %s, want 1500", got)
	}
	if got, want := e.systemLegs(t, economy.Mint), "-9223372036854777307"; got != want { // -(MaxInt64-5 + 1500 + 5)
		t.Errorf("mint legs %s, want %s", got, want)
	}
	log, err := e.svc.CurrencyLog(ctx, alice, 0)
	if err != nil {
		t.Fatal(err)
	}
	if log.Total != 3 || log.Rows[2].Amount != 1500 || !strings.Contains(log.Rows[2].Memo, "tournament prize (by admin 900)") {
		t.Errorf("alice's log %+v", log)
	}
	e.audit(t)
}

func TestAdjustItems(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const admin, alice = 900, 10
	count := func(item string) (total, vaulted int) {
		t.Helper()
		inv, err := e.svc.Inventory(ctx, alice, 0)
		if errors.Is(err, economy.ErrBadPage) {
			return 0, 0
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range inv.Rows {
			if st.Item == item {
				return st.Count, st.Vaulted
			}
		}
		return 0, 0
	}
	steps := []struct {
		name    string
		op      economy.Op
		user    int64
		item    string
		qty     int
		wantErr error
		want    int // alice's count of item afterwards
		stored  bool
	}{
		{"create consumables", "c1", alice, "coffee", 3, nil, 3, true},
		{"replayed create", "c1", alice, "coffee", 3, nil, 3, true},
		{"destroy some", "d1", alice, "coffee", -2, nil, 1, true},
		{"destroy more than owned", "d2", alice, "coffee", -5, economy.ErrNotEnoughItems, 1, true},
		{"replayed refusal", "d2", alice, "coffee", -5, economy.ErrNotEnoughItems, 1, true},
		{"create a tool", "t1", alice, "fishing_rod", 1, nil, 1, true},
		{"create collectibles", "v1", alice, "silver_nugget", 2, nil, 2, true},
		{"unknown item", "u1", alice, "unobtainium", 1, economy.ErrUnknownItem, 0, false},
		{"zero quantity", "q1", alice, "coffee", 0, economy.ErrBadQuantity, 1, false},
		{"too many", "q2", alice, "coffee", 101, economy.ErrBadQuantity, 1, false},
		{"too many destroyed", "q3", alice, "coffee", -101, economy.ErrBadQuantity, 1, false},
		{"bad user", "q4", 0, "coffee", 1, economy.ErrBadUser, 1, false},
	}
	for _, s := range steps {
		err := e.svc.AdjustItems(ctx, s.op, admin, s.user, s.item, s.qty, "event reward")
		if !errors.Is(err, s.wantErr) {
			t.Fatalf("%s: err %v, want %v", s.name, err, s.wantErr)
		}
		if err != nil && !errors.As(err, new(*refusal.Error)) {
			t.Fatalf("%s: %v is not a rejection", s.name, err)
		}
		if got, _ := count(s.item); got != s.want {
			t.Errorf("%s: alice has %d %s, want %d", s.name, got, s.item, s.want)
		}
		row, ok := e.opRow(t, s.op)
		if ok != s.stored {
			t.Fatalf("%s: operation row stored %v, want %v", s.name, ok, s.stored)
		}
		if ok && (row.kind != "admin_items" || row.admin != admin || row.reason != "event reward") {
			t.Errorf("%s: operation row %+v", s.name, row)
		}
	}
	// A created tool has full durability and gathers like a bought one.
	if _, err := e.svc.Gather(ctx, op(), alice, "fishing_rod"); err != nil {
		t.Fatalf("gather with a granted rod: %v", err)
	}
	// Vaulted items are not destroyed.
	if _, err := e.svc.VaultAdd(ctx, op(), alice, "silver_nugget"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AdjustItems(ctx, op(), admin, alice, "silver_nugget", -2, "cleanup"); !errors.Is(err, economy.ErrNotEnoughItems) {
		t.Fatalf("destroying a vaulted item: %v", err)
	}
	if err := e.svc.AdjustItems(ctx, op(), admin, alice, "silver_nugget", -1, "cleanup"); err != nil {
		t.Fatal(err)
	}
	if n, v := count("silver_nugget"); n != 1 || v != 1 {
		t.Errorf("after destroying the unvaulted nugget: %d, %d vaulted; want 1, 1", n, v)
	}
	e.audit(t)
}

func TestLeaderboard(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for u, w := range map[int64]int64{1: 500, 2: 900, 3: 900, 4: 100, 5: 700} {
		e.fund(t, u, w)
	}
	// User 4 banks most of a new grant: the bank counts toward net worth.
	if _, err := e.svc.AdjustCredits(ctx, op(), 900, 4, 5000, "prize"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Deposit(ctx, op(), 4, economy.Exact(5000)); err != nil {
		t.Fatal(err)
	}
	// User 6 has an account and nothing in it.
	if err := e.svc.AdjustItems(ctx, op(), 900, 6, "coffee", 1, "gift"); err != nil {
		t.Fatal(err)
	}
	ids := func(as []economy.Account) []int64 {
		var out []int64
		for _, a := range as {
			out = append(out, a.UserID)
		}
		return out
	}
	cases := []struct {
		limit   int
		want    []int64
		wantErr error
	}{
		{1, []int64{4}, nil},
		{3, []int64{4, 2, 3}, nil},
		{100, []int64{4, 2, 3, 5, 1}, nil},
		{0, nil, economy.ErrBadLimit},
		{101, nil, economy.ErrBadLimit},
		{-1, nil, economy.ErrBadLimit},
	}
	for _, c := range cases {
		got, err := e.svc.Leaderboard(ctx, c.limit)
		if !errors.Is(err, c.wantErr) {
			t.Fatalf("limit %d: err %v, want %v", c.limit, err, c.wantErr)
		}
		if g := ids(got); !slices.Equal(g, c.want) {
			t.Errorf("limit %d: %v, want %v", c.limit, g, c.want)
		}
	}
	top, _ := e.svc.Leaderboard(ctx, 1)
	if a := top[0]; a.Wallet != 100 || a.Bank != 5000 || a.NetWorth() != 5100 {
		t.Errorf("top account %+v", a)
	}
	e.audit(t)
}
