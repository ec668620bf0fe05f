package economy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFreeName(t *testing.T) {
	long := strings.Repeat("x", 32)
	for _, tc := range []struct {
		name  string
		taken []string
		want  string
	}{
		{"Bolt", nil, "Bolt"},
		{"Bolt", []string{"spark"}, "Bolt"},
		{"Bolt", []string{"bolt"}, "Bolt 2"},
		{"Bolt", []string{"bolt", "bolt 2", "bolt 3"}, "Bolt 4"},
		{long, []string{long}, strings.Repeat("x", 30) + " 2"},
	} {
		taken := map[string]bool{}
		for _, n := range tc.taken {
			taken[n] = true
		}
		got := freeName(tc.name, taken)
		if got != tc.want || len([]rune(got)) > 32 {
			t.Errorf("freeName(%q, %v) = %q, want %q", tc.name, tc.taken, got, tc.want)
		}
	}
}

func TestCheckCompanionRoom(t *testing.T) {
	for _, tc := range []struct {
		have, incoming, limit int
		err                   error
	}{
		{0, 1, 5, nil},
		{4, 1, 5, nil},
		{5, 1, 5, ErrCompanionLimit},
		{3, 3, 5, ErrCompanionLimit},
		{7, 0, 5, nil}, // over the limit already (a lapsed premium), receiving nothing
	} {
		if err := checkCompanionRoom(tc.have, tc.incoming, tc.limit); !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("checkCompanionRoom(%d, %d, %d) = %v, want %v", tc.have, tc.incoming, tc.limit, err, tc.err)
		}
	}
}

func TestCheckCompanionListing(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		c     Companion
		price int64
		open  int
		err   error
	}{
		{"idle", Companion{Name: "a"}, 10, 0, nil},
		{"in stasis", Companion{Name: "a", Stasis: true}, 10, 0, ErrInStasis},
		{"in battle", Companion{Name: "a", BattleID: 3}, 10, 0, ErrInBattle},
		{"breeding", Companion{Name: "a", Breeding: true, BreedingUntil: &later}, 10, 0, ErrBreeding},
		{"price 0", Companion{Name: "a"}, 0, 0, ErrBadPrice},
		{"price too high", Companion{Name: "a"}, MaxUnitPrice + 1, 0, ErrBadPrice},
		{"too many listings", Companion{Name: "a"}, 10, MaxListings, ErrTooManyListings},
	} {
		if err := checkCompanionListing(tc.c, tc.price, tc.open); !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.err)
		}
	}
}

func TestTradeChangeCompanions(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := Trade{ID: 1, A: 1, B: 2, Version: 3, State: "open", ExpiresAt: now.Add(time.Minute), Confirmed: [2]int{3, 3},
		Offers: [2]Offer{{Items: map[string]int{}, Companions: []ListedCompanion{{ID: 7, Name: "Bolt"}}}, {Items: map[string]int{}}}}
	full := base
	full.Offers = [2]Offer{{Items: map[string]int{}}, {Items: map[string]int{}}}
	for i := range MaxTradeCompanions {
		full.Offers[0].Companions = append(full.Offers[0].Companions, ListedCompanion{ID: int64(100 + i)})
	}
	for _, tc := range []struct {
		name   string
		trade  Trade
		change TradeChange
		want   []int64
		err    error
	}{
		{"add one", base, TradeChange{Companion: 8, Qty: 1}, []int64{7, 8}, nil},
		{"add the same again", base, TradeChange{Companion: 7, Qty: 1}, []int64{7}, nil},
		{"remove one", base, TradeChange{Companion: 7, Qty: -1}, nil, nil},
		{"more than the most", full, TradeChange{Companion: 8, Qty: 1}, nil, ErrTradeTooLarge},
		{"a quantity of two", base, TradeChange{Companion: 8, Qty: 2}, nil, ErrNotTradeChange},
		{"with an item", base, TradeChange{Companion: 8, Item: "ruby", Qty: 1}, nil, ErrNotTradeChange},
		{"with credits", base, TradeChange{Companion: 8, Qty: 1, Credits: 5}, nil, ErrNotTradeChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tradeChange(tc.trade, 1, 3, tc.change, now)
			if !errors.Is(err, tc.err) && err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if got.Version != 4 || got.Confirmed != [2]int{} {
				t.Fatalf("version %d confirmed %v: a change must bump the version and clear both confirmations", got.Version, got.Confirmed)
			}
			var ids []int64
			for _, c := range got.Offers[0].Companions {
				ids = append(ids, c.ID)
			}
			if len(ids) != len(tc.want) {
				t.Fatalf("companions %v, want %v", ids, tc.want)
			}
			for i := range ids {
				if ids[i] != tc.want[i] {
					t.Fatalf("companions %v, want %v", ids, tc.want)
				}
			}
			if len(base.Offers[0].Companions) != 1 || base.Offers[0].Companions[0].ID != 7 {
				t.Fatal("tradeChange changed its input")
			}
			if got.Offers[0].empty() != (len(ids) == 0) {
				t.Fatal("an offer of companions only counts as empty")
			}
		})
	}
}
