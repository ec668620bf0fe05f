package economy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestTradeChange(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	base := Trade{ID: 1, A: 1, B: 2, Version: 3, State: "open", ExpiresAt: now.Add(time.Minute), Confirmed: [2]int{3, 3},
		Offers: [2]Offer{{Credits: 10, Items: map[string]int{"ruby": 2}}, {Items: map[string]int{}}}}
	for _, tc := range []struct {
		name    string
		user    int64
		version int
		change  TradeChange
		want    Offer // the changed side
		err     error
	}{
		{"add an item", 1, 3, TradeChange{Item: "coal", Qty: 1}, Offer{Credits: 10, Items: map[string]int{"ruby": 2, "coal": 1}}, nil},
		{"remove an item", 1, 3, TradeChange{Item: "ruby", Qty: -5}, Offer{Credits: 10, Items: map[string]int{}}, nil},
		{"add credits", 2, 3, TradeChange{Credits: 500}, Offer{Credits: 500, Items: map[string]int{}}, nil},
		{"remove credits down to zero", 1, 3, TradeChange{Credits: -50}, Offer{Items: map[string]int{"ruby": 2}}, nil},
		{"clear", 1, 3, TradeChange{Clear: true}, Offer{Items: map[string]int{}}, nil},
		{"stale version", 1, 2, TradeChange{Credits: 1}, Offer{}, ErrStaleTrade},
		{"a stranger", 9, 3, TradeChange{Credits: 1}, Offer{}, ErrNotInTrade},
		{"credits overflow", 1, 3, TradeChange{Credits: math.MaxInt64}, Offer{}, ErrOverflow},
		{"too many of an item", 1, 3, TradeChange{Item: "ruby", Qty: MaxQuantity - 1}, Offer{}, ErrTradeTooLarge},
		{"a huge quantity", 1, 3, TradeChange{Item: "ruby", Qty: math.MinInt}, Offer{}, ErrTradeTooLarge},
		{"item and credits at once", 1, 3, TradeChange{Item: "ruby", Qty: 1, Credits: 1}, Offer{}, ErrNotTradeChange},
		{"nothing", 1, 3, TradeChange{}, Offer{}, ErrNotTradeChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tradeChange(base, tc.user, tc.version, tc.change, now)
			if !errors.Is(err, tc.err) && err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			side, _ := got.side(tc.user)
			if got.Version != 4 || got.Confirmed != [2]int{} {
				t.Fatalf("version %d confirmed %v: a change must bump the version and clear both confirmations", got.Version, got.Confirmed)
			}
			if o := got.Offers[side]; o.Credits != tc.want.Credits || len(o.Items) != len(tc.want.Items) {
				t.Fatalf("offer %+v, want %+v", o, tc.want)
			} else {
				for k, v := range tc.want.Items {
					if o.Items[k] != v {
						t.Fatalf("offer %+v, want %+v", o, tc.want)
					}
				}
			}
			if base.Offers[0].Items["ruby"] != 2 || base.Version != 3 {
				t.Fatal("tradeChange changed its input")
			}
		})
	}
	tooMany := base
	tooMany.Offers[0] = Offer{Items: map[string]int{}}
	for i := 0; i < MaxTradeKinds; i++ {
		tooMany.Offers[0].Items[string(rune('a'+i))] = 1
	}
	if _, err := tradeChange(tooMany, 1, 3, TradeChange{Item: "z", Qty: 1}, now); !errors.Is(err, ErrTradeTooLarge) {
		t.Fatalf("an eleventh kind: %v", err)
	}
	closed := base
	closed.State = "done"
	if _, err := tradeChange(closed, 1, 3, TradeChange{Credits: 1}, now); !errors.Is(err, ErrTradeClosed) {
		t.Fatalf("change a closed trade: %v", err)
	}
	if _, err := tradeChange(base, 1, 3, TradeChange{Credits: 1}, base.ExpiresAt); !errors.Is(err, ErrTradeExpired) {
		t.Fatalf("change an expired trade: %v", err)
	}
}

func TestTradeConfirm(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	tr := Trade{ID: 1, A: 1, B: 2, Version: 2, State: "open", ExpiresAt: now.Add(time.Minute),
		Offers: [2]Offer{{Credits: 10, Items: map[string]int{}}, {Items: map[string]int{}}}}
	one, err := tradeConfirm(tr, 1, 2, now)
	if err != nil || one.Agreed() || one.Confirmed != [2]int{2, 0} {
		t.Fatalf("first confirmation: %+v %v", one, err)
	}
	both, err := tradeConfirm(one, 2, 2, now)
	if err != nil || !both.Agreed() {
		t.Fatalf("second confirmation: %+v %v", both, err)
	}
	// A change after A confirmed clears it: B confirming the old version is stale.
	changed, _ := tradeChange(one, 1, 2, TradeChange{Credits: -10}, now)
	if _, err := tradeConfirm(changed, 2, 2, now); !errors.Is(err, ErrStaleTrade) {
		t.Fatalf("confirm a stale version: %v", err)
	}
	if _, err := tradeConfirm(changed, 2, changed.Version, now); !errors.Is(err, ErrEmptyTrade) {
		t.Fatalf("confirm an empty trade: %v", err)
	}
	if _, err := tradeConfirm(tr, 3, 2, now); !errors.Is(err, ErrNotInTrade) {
		t.Fatalf("a stranger confirms: %v", err)
	}
	if _, err := tradeConfirm(tr, 1, 2, tr.ExpiresAt); !errors.Is(err, ErrTradeExpired) {
		t.Fatalf("confirm an expired trade: %v", err)
	}
}

func TestCheckWear(t *testing.T) {
	o := Offer{Items: map[string]int{"pickaxe": 1, "coal": 2}, Worn: map[string]int{"pickaxe": 5}}
	for _, tc := range []struct {
		name  string
		key   string
		worst int
		err   error
	}{
		{"as promised", "pickaxe", 5, nil},
		{"better than promised", "pickaxe", 9, nil},
		{"worn since", "pickaxe", 4, ErrTradeWorn},
		{"an item that does not wear", "coal", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkWear(o, tc.key, tc.worst); !errors.Is(err, tc.err) {
				t.Fatalf("checkWear = %v, want %v", err, tc.err)
			}
		})
	}
}
