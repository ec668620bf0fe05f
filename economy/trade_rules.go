package economy

import (
	"math"
	"time"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The trade's rules as pure functions (see rules.go).

// Trade limits.
const (
	// TradeLifetime is how long a trade window stays open.
	TradeLifetime = 5 * time.Minute
	// MaxTradeKinds bounds the kinds of item one side offers.
	MaxTradeKinds = 10
)

// The trade's refusals.
var (
	ErrSelfTrade      = refusal.New("trade_self", "You cannot trade with yourself.")
	ErrNoTrade        = refusal.New("trade_none", "There is no such trade.")
	ErrNotInTrade     = refusal.New("trade_not_yours", "This trade is between two other players.")
	ErrTradeClosed    = refusal.New("trade_closed", "This trade is closed.")
	ErrTradeExpired   = refusal.New("trade_expired", "This trade expired: open a new one with /trade.")
	ErrStaleTrade     = refusal.New("trade_stale", "The offer changed since you looked at it: check it again, then confirm.")
	ErrTradeTooLarge  = refusal.New("trade_too_large", "An offer holds at most 10 kinds of item and 100 of each.")
	ErrEmptyTrade     = refusal.New("trade_empty", "Nothing is offered yet: add items or credits first.")
	ErrNotTradeChange = refusal.New("trade_bad_change", "That change is not valid.")
	ErrTradeWorn      = refusal.New("trade_worn", "An offered tool wore down since the offer was made: the offer must be made again.")
)

// Offer is what one side of a trade gives: credits and items by key.
type Offer struct {
	Credits int64          `json:"credits"`
	Items   map[string]int `json:"items"`
	// Worn is, for offered tools, the uses left of the most worn one when
	// the offer was last changed: what the other player saw. The swap
	// refuses a tool worn further since (it gives the most worn first).
	Worn map[string]int `json:"worn,omitempty"`
	// Companions are the offered companions as they were when offered;
	// the swap gives them by ID.
	Companions []ListedCompanion `json:"companions,omitempty"`
}

func (o Offer) empty() bool { return o.Credits == 0 && len(o.Items) == 0 && len(o.Companions) == 0 }

func (o Offer) clone() Offer {
	c := Offer{Credits: o.Credits, Items: make(map[string]int, len(o.Items)),
		Companions: append([]ListedCompanion(nil), o.Companions...)}
	for k, v := range o.Items {
		c.Items[k] = v
	}
	return c
}

// offers reports whether o offers companion id.
func (o Offer) offers(id int64) bool {
	for _, c := range o.Companions {
		if c.ID == id {
			return true
		}
	}
	return false
}

// Trade is a trade window between players A (who opened it) and B.
type Trade struct {
	ID        int64     `json:"id"`
	A         int64     `json:"a"`
	B         int64     `json:"b"`
	Version   int       `json:"version"`
	Offers    [2]Offer  `json:"offers"`    // A's, then B's
	Confirmed [2]int    `json:"confirmed"` // the version each confirmed; 0 for none
	State     string    `json:"state"`     // open, done or cancelled
	ExpiresAt time.Time `json:"expires_at"`
}

// Side returns 0 for A, 1 for B.
func (t Trade) side(user int64) (int, error) {
	switch user {
	case t.A:
		return 0, nil
	case t.B:
		return 1, nil
	}
	return 0, ErrNotInTrade
}

// Agreed reports whether both players confirmed the current version.
func (t Trade) Agreed() bool {
	return t.Confirmed[0] == t.Version && t.Confirmed[1] == t.Version
}

// Expired reports whether the window closed by time at now.
func (t Trade) Expired(now time.Time) bool { return t.State == "open" && !now.Before(t.ExpiresAt) }

// TradeChange is one edit of the caller's own offer: add Qty of Item
// (negative removes), add Credits (negative removes), add (Qty 1) or
// remove (Qty -1) the companion with ID Companion, or Clear it.
type TradeChange struct {
	Companion int64  `json:"companion,omitempty"`
	Item      string `json:"item,omitempty"`
	Qty       int    `json:"qty,omitempty"`
	Credits   int64  `json:"credits,omitempty"`
	Clear     bool   `json:"clear,omitempty"`
}

// checkOpen refuses a closed or expired trade, or a version other than
// the current one.
func (t Trade) checkOpen(version int, now time.Time) error {
	switch {
	case t.State != "open":
		return ErrTradeClosed
	case t.Expired(now):
		return ErrTradeExpired
	case version != t.Version:
		return ErrStaleTrade
	}
	return nil
}

// tradeChange applies user's change to t as seen at version, returning
// the trade with the next version and both confirmations cleared.
func tradeChange(t Trade, user int64, version int, c TradeChange, now time.Time) (Trade, error) {
	side, err := t.side(user)
	if err != nil {
		return Trade{}, err
	}
	if err := t.checkOpen(version, now); err != nil {
		return Trade{}, err
	}
	o := t.Offers[side].clone()
	switch {
	case c.Clear:
		o = Offer{Items: map[string]int{}}
	case c.Companion > 0 && c.Item == "" && c.Credits == 0 && (c.Qty == 1 || c.Qty == -1):
		kept := o.Companions[:0]
		for _, x := range o.Companions {
			if x.ID != c.Companion {
				kept = append(kept, x)
			}
		}
		o.Companions = kept
		if c.Qty == 1 {
			o.Companions = append(o.Companions, ListedCompanion{ID: c.Companion})
		}
		if len(o.Companions) > MaxTradeCompanions {
			return Trade{}, ErrTradeTooLarge.Withf("An offer holds at most %d companions.", MaxTradeCompanions)
		}
	case c.Companion == 0 && c.Item != "" && c.Qty != 0 && c.Credits == 0:
		n := o.Items[c.Item] + c.Qty
		switch {
		case c.Qty < -MaxQuantity || c.Qty > MaxQuantity || n > MaxQuantity:
			return Trade{}, ErrTradeTooLarge
		case n <= 0:
			delete(o.Items, c.Item)
		default:
			o.Items[c.Item] = n
		}
		if len(o.Items) > MaxTradeKinds {
			return Trade{}, ErrTradeTooLarge
		}
	case c.Companion == 0 && c.Item == "" && c.Qty == 0 && c.Credits != 0:
		if c.Credits > 0 && o.Credits > math.MaxInt64-c.Credits {
			return Trade{}, ErrOverflow
		}
		o.Credits = max(0, o.Credits+c.Credits)
	default:
		return Trade{}, ErrNotTradeChange
	}
	t.Offers[side] = o
	t.Version++
	t.Confirmed = [2]int{}
	return t, nil
}

// tradeConfirm records user's confirmation of version; the result is
// Agreed when the other side confirmed the same version.
func tradeConfirm(t Trade, user int64, version int, now time.Time) (Trade, error) {
	side, err := t.side(user)
	if err != nil {
		return Trade{}, err
	}
	if err := t.checkOpen(version, now); err != nil {
		return Trade{}, err
	}
	if t.Offers[0].empty() && t.Offers[1].empty() {
		return Trade{}, ErrEmptyTrade
	}
	t.Confirmed[side] = version
	return t, nil
}

// checkWear refuses a swap that would give items of key whose most worn
// has worst uses left, when the offer promised more.
func checkWear(o Offer, key string, worst int) error {
	if promised := o.Worn[key]; promised > 0 && worst < promised {
		return ErrTradeWorn.Withf("An offered %s wore down to %d uses since the offer was made (%d): change the offer again, then confirm.",
			key, worst, promised)
	}
	return nil
}
