package economy

import (
	"math"
	"sort"
	"time"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The market's rules as pure functions (see rules.go): the transactions in
// market.go read the state, ask these and write what they decided.

// Market limits and terms.
const (
	// MarketFeePercent is the share of a sale's price the market keeps (a
	// sink): the seller receives the price less this fee, rounded up in
	// the market's favour so that splitting a purchase saves nothing.
	MarketFeePercent = 5
	// MaxUnitPrice bounds the price of one listed item.
	MaxUnitPrice int64 = 1_000_000_000_000
	// MaxListings bounds a player's open listings.
	MaxListings = 20
	// ListingLifetime is how long a listing stays open before its items
	// go back to the seller.
	ListingLifetime = 7 * 24 * time.Hour
	// PriceWindow is the span of sales /market price summarises in its
	// median and volume.
	PriceWindow = 7 * 24 * time.Hour
)

// ItemEscrow is the item owner of listed items in the item ledger: a listed
// item moves from its seller to ItemEscrow and from ItemEscrow to the buyer (or
// back to the seller).
const ItemEscrow int64 = -3

// checkListing validates a new listing of qty items at unitPrice by a
// seller who has open listings already.
func checkListing(qty int, unitPrice int64, open int) error {
	switch {
	case qty < 1 || qty > MaxQuantity:
		return ErrBadQuantity
	case unitPrice < 1 || unitPrice > MaxUnitPrice:
		return ErrBadPrice
	case open >= MaxListings:
		return ErrTooManyListings
	}
	return nil
}

// saleTerms is what buying qty of a listing costs and pays.
type saleTerms struct {
	Quantity int
	Total    int64 // the buyer pays
	Fee      int64 // the market keeps (Sink)
	Proceeds int64 // the seller receives: Total - Fee
}

// listingState is what a purchase needs to know about a listing.
type listingState struct {
	Seller    int64
	Remaining int
	UnitPrice int64
	Open      bool
	ExpiresAt time.Time
}

// marketSale decides a purchase of want items (0: all that remain) of
// listing l by buyer at now, or refuses it.
func marketSale(l listingState, buyer int64, want int, now time.Time) (saleTerms, error) {
	switch {
	case want < 0 || want > MaxQuantity:
		return saleTerms{}, ErrBadQuantity
	case !l.Open || !now.Before(l.ExpiresAt):
		return saleTerms{}, ErrListingClosed
	case l.Seller == buyer:
		return saleTerms{}, ErrOwnListing
	}
	qty := want
	if qty == 0 {
		qty = l.Remaining
	}
	if qty > l.Remaining {
		return saleTerms{}, ErrListingShort.Withf("Only %d left on that listing.", l.Remaining)
	}
	if l.UnitPrice <= 0 || l.UnitPrice > math.MaxInt64/int64(qty) {
		return saleTerms{}, ErrOverflow
	}
	total := l.UnitPrice * int64(qty)
	fee := MarketFee(total)
	return saleTerms{Quantity: qty, Total: total, Fee: fee, Proceeds: total - fee}, nil
}

// MarketFee is the market's share of a sale of total credits, rounded up.
func MarketFee(total int64) int64 {
	if total <= 0 {
		return 0
	}
	// total <= MaxUnitPrice * MaxQuantity, far from overflowing here.
	return (total*MarketFeePercent + 99) / 100
}

// priceStats summarises sales: the median unit price (lower middle for an
// even count, weighted by quantity) and the volume in items and credits.
func priceStats(sales []Sale) (median int64, items int64, credits int64) {
	if len(sales) == 0 {
		return 0, 0, 0
	}
	s := append([]Sale(nil), sales...)
	sort.Slice(s, func(i, j int) bool { return s[i].UnitPrice < s[j].UnitPrice })
	for _, x := range s {
		items += int64(x.Quantity)
		// Saturating: a week of sales at the top price passes int64.
		credits = saturatingAdd(credits, x.UnitPrice*int64(x.Quantity))
	}
	mid := (items + 1) / 2
	var seen int64
	for _, x := range s {
		seen += int64(x.Quantity)
		if seen >= mid {
			return x.UnitPrice, items, credits
		}
	}
	return s[len(s)-1].UnitPrice, items, credits
}

// The market's refusals (see errors.go).
var (
	ErrBadPrice        = refusal.New("market_bad_price", "The price per item must be between 1 and 1,000,000,000,000 credits.")
	ErrTooManyListings = refusal.New("market_too_many_listings", "You have 20 open listings, the most allowed: cancel one or wait for a sale.")
	ErrNoListing       = refusal.New("market_no_listing", "There is no such listing.")
	ErrListingClosed   = refusal.New("market_listing_closed", "That listing is no longer open.")
	ErrOwnListing      = refusal.New("market_own_listing", "You cannot buy your own listing; cancel it instead.")
	ErrNotYourListing  = refusal.New("market_not_your_listing", "That listing is not yours.")
	ErrListingShort    = refusal.New("market_listing_short", "That listing does not have that many items left.")
	ErrBadSort         = refusal.New("market_bad_sort", "Sort by cheapest, priciest or newest.")
)

// saturatingAdd is a + b for non-negative a and b, or MaxInt64 when that
// would overflow.
func saturatingAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
