package economy

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestCheckListing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		qty   int
		price int64
		open  int
		want  error
	}{
		{"fine", 5, 100, 0, nil},
		{"most", MaxQuantity, MaxUnitPrice, MaxListings - 1, nil},
		{"zero quantity", 0, 100, 0, ErrBadQuantity},
		{"negative quantity", -3, 100, 0, ErrBadQuantity},
		{"too many items", MaxQuantity + 1, 100, 0, ErrBadQuantity},
		{"zero price", 1, 0, 0, ErrBadPrice},
		{"negative price", 1, -5, 0, ErrBadPrice},
		{"price past the cap", 1, MaxUnitPrice + 1, 0, ErrBadPrice},
		{"price past int64 wrapped", 1, math.MinInt64, 0, ErrBadPrice},
		{"listing limit", 1, 1, MaxListings, ErrTooManyListings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkListing(tc.qty, tc.price, tc.open); !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("checkListing = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMarketSale(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	open := listingState{Seller: 1, Remaining: 10, UnitPrice: 100, Open: true, ExpiresAt: now.Add(time.Hour)}
	for _, tc := range []struct {
		name  string
		l     listingState
		buyer int64
		want  int
		terms saleTerms
		err   error
	}{
		{"all", open, 2, 0, saleTerms{Quantity: 10, Total: 1000, Fee: 50, Proceeds: 950}, nil},
		{"part", open, 2, 3, saleTerms{Quantity: 3, Total: 300, Fee: 15, Proceeds: 285}, nil},
		{"fee rounds up", listingState{Seller: 1, Remaining: 1, UnitPrice: 19, Open: true, ExpiresAt: now.Add(time.Hour)}, 2, 1,
			saleTerms{Quantity: 1, Total: 19, Fee: 1, Proceeds: 18}, nil},
		{"top price", listingState{Seller: 1, Remaining: MaxQuantity, UnitPrice: MaxUnitPrice, Open: true, ExpiresAt: now.Add(time.Hour)}, 2, 0,
			saleTerms{Quantity: MaxQuantity, Total: 100 * MaxUnitPrice, Fee: 5 * MaxUnitPrice, Proceeds: 95 * MaxUnitPrice}, nil},
		{"own listing", open, 1, 1, saleTerms{}, ErrOwnListing},
		{"more than left", open, 2, 11, saleTerms{}, ErrListingShort},
		{"negative quantity", open, 2, -1, saleTerms{}, ErrBadQuantity},
		{"past the quantity cap", open, 2, MaxQuantity + 1, saleTerms{}, ErrBadQuantity},
		{"closed", listingState{Seller: 1, Remaining: 10, UnitPrice: 100, ExpiresAt: now.Add(time.Hour)}, 2, 1, saleTerms{}, ErrListingClosed},
		{"expired, not yet swept", listingState{Seller: 1, Remaining: 10, UnitPrice: 100, Open: true, ExpiresAt: now}, 2, 1, saleTerms{}, ErrListingClosed},
		{"overflowing price", listingState{Seller: 1, Remaining: 10, UnitPrice: math.MaxInt64 / 2, Open: true, ExpiresAt: now.Add(time.Hour)}, 2, 3, saleTerms{}, ErrOverflow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := marketSale(tc.l, tc.buyer, tc.want, now)
			if !errors.Is(err, tc.err) && err != tc.err {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if got != tc.terms {
				t.Fatalf("terms %+v, want %+v", got, tc.terms)
			}
			if err == nil && got.Fee+got.Proceeds != got.Total {
				t.Fatalf("fee %d + proceeds %d != total %d", got.Fee, got.Proceeds, got.Total)
			}
		})
	}
}

func TestPriceStats(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		sales                  []Sale
		median, items, credits int64
	}{
		{"none", nil, 0, 0, 0},
		{"one", []Sale{{Quantity: 2, UnitPrice: 50}}, 50, 2, 100},
		{"weighted by quantity", []Sale{{Quantity: 1, UnitPrice: 1000}, {Quantity: 5, UnitPrice: 10}, {Quantity: 1, UnitPrice: 20}}, 10, 7, 1070},
		{"even count takes the lower middle", []Sale{{Quantity: 1, UnitPrice: 30}, {Quantity: 1, UnitPrice: 10}}, 10, 2, 40},
		{"credits saturate instead of wrapping", func() []Sale {
			week := make([]Sale, 100_000) // 10^19 credits: past int64
			for i := range week {
				week[i] = Sale{Quantity: MaxQuantity, UnitPrice: MaxUnitPrice}
			}
			return week
		}(), MaxUnitPrice, 100_000 * MaxQuantity, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, n, c := priceStats(tc.sales)
			if m != tc.median || n != tc.items || c != tc.credits {
				t.Fatalf("priceStats = %d, %d, %d; want %d, %d, %d", m, n, c, tc.median, tc.items, tc.credits)
			}
		})
	}
}
