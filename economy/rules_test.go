package economy

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"
)

func day(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDailyGap(t *testing.T) {
	now := day("2026-12-07T13:00:00Z")
	tests := []struct {
		name   string
		last   string // "" for a first claim
		missed int
		open   bool
	}{
		{"first claim", "", 0, true},
		{"earlier today", "2026-12-07T00:00:00Z", 0, false},
		{"in the future (clock skew)", "2026-12-08T00:00:00Z", 0, false},
		{"yesterday", "2026-12-06T00:00:00Z", 0, true},
		{"yesterday late", "2026-12-06T23:59:59Z", 0, true},
		{"two days ago", "2026-12-05T00:00:00Z", 1, true},
		{"a week ago", "2026-11-30T00:00:00Z", 6, true},
		{"in another zone, same UTC day", "2026-12-07T01:00:00+01:00", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var last *time.Time
			if tc.last != "" {
				l := day(tc.last)
				last = &l
			}
			missed, open := dailyGap(last, now)
			if missed != tc.missed || open != tc.open {
				t.Errorf("dailyGap = %d, %v; want %d, %v", missed, open, tc.missed, tc.open)
			}
		})
	}
	if got := dailyNext(now); !got.Equal(day("2026-12-08T00:00:00Z")) {
		t.Errorf("dailyNext = %v", got)
	}
}

func TestDailyStreak(t *testing.T) {
	tests := []struct {
		name            string
		kept            int
		first           bool
		missed, shields int
		want            streakClaim
	}{
		{"first claim", 0, true, 0, 0, streakClaim{Streak: 1}},
		{"first claim ignores a kept streak", 9, true, 3, 2, streakClaim{Streak: 1}},
		{"next day", 4, false, 0, 0, streakClaim{Streak: 5}},
		{"next day keeps the shields", 4, false, 0, 3, streakClaim{Streak: 5}},
		{"one missed day halves", 4, false, 1, 0, streakClaim{Streak: 3, Decayed: true}},
		{"halving rounds down", 5, false, 1, 0, streakClaim{Streak: 3, Decayed: true}},
		{"two missed days quarter", 8, false, 2, 0, streakClaim{Streak: 3, Decayed: true}},
		{"a shield covers a missed day", 4, false, 1, 1, streakClaim{Streak: 5, SaversUsed: 1}},
		{"shields cover only as many days as they have", 8, false, 3, 2, streakClaim{Streak: 5, SaversUsed: 2, Decayed: true}},
		{"spare shields are kept", 8, false, 2, 5, streakClaim{Streak: 9, SaversUsed: 2}},
		{"a streak decayed to zero starts again", 1, false, 5, 0, streakClaim{Streak: 1, Decayed: true}},
		{"a zero streak does not decay", 0, false, 3, 0, streakClaim{Streak: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := dailyStreak(tc.kept, tc.first, tc.missed, tc.shields); got != tc.want {
				t.Errorf("dailyStreak(%d, %v, %d, %d) = %+v, want %+v", tc.kept, tc.first, tc.missed, tc.shields, got, tc.want)
			}
		})
	}
}

func TestDailyReward(t *testing.T) {
	c := DefaultCatalog() // base 500, +10% a day, capped at 300%
	tests := []struct {
		streak          int
		reward, percent int64
	}{
		{1, 500, 100}, {2, 550, 110}, {11, 1000, 200}, {21, 1500, 300}, {22, 1500, 300}, {1 << 30, 1500, 300},
	}
	for _, tc := range tests {
		if r, p := c.dailyReward(tc.streak); r != tc.reward || p != tc.percent {
			t.Errorf("streak %d: %d at %d%%, want %d at %d%%", tc.streak, r, p, tc.reward, tc.percent)
		}
	}
}

// fixed returns a draw that answers the given numbers in turn and records
// the bounds it was asked for.
func fixed(answers ...int64) (intn func(int64) int64, asked *[]int64) {
	asked = new([]int64)
	return func(n int64) int64 {
		*asked = append(*asked, n)
		a := answers[0]
		answers = answers[1:]
		return a
	}, asked
}

func TestWorkPay(t *testing.T) {
	j := &Job{MinPay: 150, MaxPay: 400}
	tests := []struct {
		name        string
		draw, bonus int64
		want        int64
	}{
		{"lowest", 0, 0, 150},
		{"highest", 250, 0, 400},
		{"coffee raises by its percent", 0, 20, 180},
		{"the raise rounds down", 1, 20, 181},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			intn, asked := fixed(tc.draw)
			if got := workPay(j, tc.bonus, intn); got != tc.want {
				t.Errorf("pay %d, want %d", got, tc.want)
			}
			if !slices.Equal(*asked, []int64{251}) {
				t.Errorf("drew from %v, want [251] (the range, both ends included)", *asked)
			}
		})
	}
}

func TestCooldownNext(t *testing.T) {
	now := day("2026-12-07T13:00:00Z")
	tests := []struct {
		name  string
		ready time.Time
		found bool
		ok    bool
	}{
		{"never used", time.Time{}, false, true},
		{"ready in the past", now.Add(-time.Second), true, true},
		{"ready now", now, true, true},
		{"ready later", now.Add(time.Second), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, err := cooldownNext(tc.ready, tc.found, now, time.Hour, "gathering")
			if tc.ok {
				if err != nil || !next.Equal(now.Add(time.Hour)) {
					t.Errorf("= %v, %v; want %v", next, err, now.Add(time.Hour))
				}
				return
			}
			if !errors.Is(err, ErrCooldown) {
				t.Fatalf("err = %v, want a cooldown", err)
			}
			if at, ok := ReadyAt(err); !ok || !at.Equal(tc.ready) {
				t.Errorf("ReadyAt = %v, %v; want %v", at, ok, tc.ready)
			}
			if want := "Not yet: gathering is ready <t:1796648401:R>."; err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	}
}

func TestGatherOdds(t *testing.T) {
	c := DefaultCatalog() // common 600, uncommon 250, rare 100, epic 35, legendary 12, mythic 3
	all := &Item{Drops: map[string][]string{"common": {"pebble", "coal"}, "uncommon": {"quartz"}, "rare": {"ruby"},
		"epic": {"ruby"}, "legendary": {"diamond"}, "mythic": {"star_shard"}}}
	partial := &Item{Drops: map[string][]string{"common": {"pebble"}, "mythic": {"star_shard"}}}
	tests := []struct {
		name    string
		tool    *Item
		luck    int64
		weights []int64
		total   int64
	}{
		{"every tier", all, 0, []int64{600, 250, 100, 35, 12, 3}, 1000},
		{"luck raises rare and better", all, 50, []int64{600, 250, 150, 52, 18, 4}, 1074},
		{"tiers without drops weigh nothing", partial, 100, []int64{600, 0, 0, 0, 0, 6}, 606},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, total := c.gatherOdds(tc.tool, tc.luck)
			if !slices.Equal(w, tc.weights) || total != tc.total {
				t.Errorf("odds %v (total %d), want %v (%d)", w, total, tc.weights, tc.total)
			}
		})
	}
	draws := []struct {
		name         string
		tool         *Item
		answers      []int64
		rarity, item string
	}{
		{"the first of the common tier", all, []int64{0, 0}, "common", "pebble"},
		{"the last of the common tier", all, []int64{599, 1}, "common", "coal"},
		{"the first uncommon", all, []int64{600, 0}, "uncommon", "quartz"},
		{"the last number is mythic", all, []int64{999, 0}, "mythic", "star_shard"},
		{"skipped tiers are never drawn", partial, []int64{600, 0}, "mythic", "star_shard"},
	}
	for _, tc := range draws {
		t.Run(tc.name, func(t *testing.T) {
			intn, _ := fixed(tc.answers...)
			r, it := c.gatherDraw(tc.tool, 0, intn)
			if r != tc.rarity || it != tc.item {
				t.Errorf("drew %s %s, want %s %s", r, it, tc.rarity, tc.item)
			}
		})
	}
}

func TestBuyAndSellPrices(t *testing.T) {
	tool := &Item{Price: 1500, Sell: 300}
	bound := &Item{Price: math.MaxInt64 / 50, Sell: 10}
	gem := &Item{Sell: 3000}
	note := &Item{Price: 3000}
	tests := []struct {
		name    string
		it      *Item
		qty     int
		buy     int64
		buyErr  error
		sell    int64
		sellErr error
	}{
		{"one", tool, 1, 1500, nil, 300, nil},
		{"the most at once", tool, MaxQuantity, 150000, nil, 30000, nil},
		{"none", tool, 0, 0, ErrBadQuantity, 0, ErrBadQuantity},
		{"too many", tool, MaxQuantity + 1, 0, ErrBadQuantity, 0, ErrBadQuantity},
		{"a price past int64", bound, 51, 0, ErrOverflow, 510, nil},
		{"not in the shop", gem, 1, 0, ErrNotForSale, 3000, nil},
		{"nobody buys it", note, 1, 3000, nil, 0, ErrNotSellable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := buyCost(tc.it, tc.qty); got != tc.buy || !errors.Is(err, tc.buyErr) || (err == nil) != (tc.buyErr == nil) {
				t.Errorf("buyCost = %d, %v; want %d, %v", got, err, tc.buy, tc.buyErr)
			}
			if got, err := sellGain(tc.it, tc.qty); got != tc.sell || !errors.Is(err, tc.sellErr) || (err == nil) != (tc.sellErr == nil) {
				t.Errorf("sellGain = %d, %v; want %d, %v", got, err, tc.sell, tc.sellErr)
			}
		})
	}
}

func TestBankMoves(t *testing.T) {
	acct := func(wallet, bank, capacity int64) Account {
		return Account{Wallet: wallet, Bank: bank, BankCapacity: capacity}
	}
	all, half := Amount{All: true}, Amount{Half: true}
	tests := []struct {
		name string
		move func(Account, Amount) (int64, error)
		a    Account
		amt  Amount
		want int64
		err  error
	}{
		{"deposit", deposit, acct(500, 0, 10000), Exact(200), 200, nil},
		{"deposit up to the capacity", deposit, acct(500, 9800, 10000), Exact(200), 200, nil},
		{"deposit past the capacity", deposit, acct(500, 9900, 10000), Exact(200), 0, ErrBankFull},
		{"deposit all fills what fits", deposit, acct(500, 9900, 10000), all, 100, nil},
		{"deposit all into a full bank", deposit, acct(500, 10000, 10000), all, 0, ErrBankFull},
		{"deposit all of an empty wallet", deposit, acct(0, 10000, 10000), all, 0, ErrNonPositive},
		{"deposit half", deposit, acct(501, 0, 10000), half, 250, nil},
		{"deposit more than the wallet", deposit, acct(100, 0, 10000), Exact(101), 0, ErrInsufficientFunds},
		{"deposit nothing", deposit, acct(100, 0, 10000), Exact(0), 0, ErrNonPositive},
		{"withdraw", withdrawal, acct(0, 500, 10000), Exact(200), 200, nil},
		{"withdraw all", withdrawal, acct(0, 500, 10000), all, 500, nil},
		{"withdraw all of an empty bank", withdrawal, acct(10, 0, 10000), all, 0, ErrNonPositive},
		{"withdraw more than the bank", withdrawal, acct(0, 500, 10000), Exact(501), 0, ErrInsufficientBank},
		{"withdraw past int64", withdrawal, acct(math.MaxInt64-10, 500, math.MaxInt64), Exact(11), 0, ErrOverflow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.move(tc.a, tc.amt)
			if got != tc.want || !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Errorf("= %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestVaultable(t *testing.T) {
	c := DefaultCatalog() // vault_min_rarity: rare
	tests := []struct {
		key  string
		want bool
	}{
		{"pebble", false}, {"iron_ore", false}, {"silver_nugget", true}, {"star_shard", true}, {"pickaxe", false}, {"coffee", false},
	}
	for _, tc := range tests {
		it, ok := c.Item(tc.key)
		if !ok {
			t.Fatalf("no item %s", tc.key)
		}
		if got := c.vaultable(it); got != tc.want {
			t.Errorf("vaultable(%s) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
