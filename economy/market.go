package economy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listing is an offer on the market: Remaining of Listed items of one kind
// at UnitPrice each, held in escrow until sold, cancelled or expired.
type Listing struct {
	ID        int64     `json:"id"`
	Seller    int64     `json:"seller"`
	Item      string    `json:"item"`
	ItemName  string    `json:"item_name"`
	Rarity    string    `json:"rarity,omitempty"`
	Listed    int       `json:"listed"`
	Remaining int       `json:"remaining"`
	UnitPrice int64     `json:"unit_price"`
	State     string    `json:"state"` // open, sold, cancelled or expired
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Worn is the uses left of the most worn item in escrow, so buyers see
	// what wear they buy; 0 for items that do not wear (and in the results
	// of sell, cancel and expiry).
	Worn int `json:"worn,omitempty"`
	// Kind is "item", or "companion" for a listing of one companion
	// (Companion; Item is then its model's key).
	Kind      string           `json:"kind,omitempty"`
	Companion *ListedCompanion `json:"companion,omitempty"`
}

// MarketPurchase is the outcome of MarketBuy.
type MarketPurchase struct {
	Listing   int64  `json:"listing"`
	Seller    int64  `json:"seller"`
	Item      string `json:"item"`
	ItemName  string `json:"item_name"`
	Quantity  int    `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	Total     int64  `json:"total"` // the buyer paid
	Fee       int64  `json:"fee"`   // the market kept
	Left      int    `json:"left"`  // still on the listing
	Wallet    int64  `json:"wallet"`
	// Companion is the companion bought from a companion listing, under
	// the name it has now (renamed when the buyer used its name).
	Companion *ListedCompanion `json:"companion,omitempty"`
}

// Sale is one purchase on the market, for price history.
type Sale struct {
	Quantity  int       `json:"quantity"`
	UnitPrice int64     `json:"unit_price"`
	SoldAt    time.Time `json:"sold_at"`
}

// PriceReport is an item's market price: its last sales, and the median
// unit price and volume of the last 7 days.
type PriceReport struct {
	Item     string
	ItemName string
	Last     []Sale // newest first, at most 5
	Median   int64  // 0 without sales in 7 days
	Volume   int64  // items sold in 7 days
	Credits  int64  // credits spent in 7 days
	Lowest   int64  // the cheapest open listing's unit price; 0 when none
}

// Sort orders of MarketBrowse.
const (
	SortCheapest = "cheapest"
	SortPriciest = "priciest"
	SortNewest   = "newest"
)

var marketOrders = map[string]string{
	SortCheapest: "unit_price, id",
	SortPriciest: "unit_price DESC, id",
	SortNewest:   "id DESC",
}

// MarketSell lists qty of seller's items of key item at unitPrice each.
// The items leave the inventory for escrow in the same transaction, so
// while listed they cannot be used, sold, vaulted or listed again;
// vaulted items are not listed.
func (s *Service) MarketSell(ctx context.Context, op Op, seller int64, item string, qty int, unitPrice int64) (Listing, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return Listing{}, ErrUnknownItem
	}
	if err := checkListing(qty, unitPrice, 0); err != nil {
		return Listing{}, err
	}
	var r Listing
	_, err := s.mutate(ctx, "market_sell", op, seller, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, seller); err != nil {
			return nil, err
		}
		var open int
		if err := t.QueryRow(ctx, `SELECT count(*) FROM economy.market_listings WHERE seller_id = $1 AND state = 'open'`,
			seller).Scan(&open); err != nil {
			return nil, fmt.Errorf("market sell: %w", err)
		}
		if err := checkListing(qty, unitPrice, open); err != nil {
			return nil, err
		}
		l := Listing{Kind: KindItem, Seller: seller, Item: it.Key, ItemName: it.Name, Rarity: it.Rarity, Listed: qty, Remaining: qty,
			UnitPrice: unitPrice, State: "open", CreatedAt: t.now, ExpiresAt: t.now.Add(ListingLifetime)}
		if err := t.QueryRow(ctx, `INSERT INTO economy.market_listings
			(seller_id, item_key, listed, remaining, unit_price, created_at, expires_at)
			VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id`,
			seller, it.Key, qty, unitPrice, l.CreatedAt, l.ExpiresAt).Scan(&l.ID); err != nil {
			return nil, fmt.Errorf("market sell: %w", err)
		}
		tag, err := t.Exec(ctx, `WITH moved AS (
				DELETE FROM economy.items WHERE id IN (
					SELECT i.id FROM economy.items i
					WHERE i.owner_id = $1 AND i.item_key = $2
					  AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)
					ORDER BY i.durability NULLS FIRST, i.id LIMIT $3 FOR UPDATE)
				RETURNING id, item_key, durability, acquired_at)
			INSERT INTO economy.market_escrow (item_id, listing_id, item_key, durability, acquired_at)
			SELECT id, $4, item_key, durability, acquired_at FROM moved`, seller, it.Key, qty, l.ID)
		if err != nil {
			return nil, fmt.Errorf("market sell: %w", err)
		}
		if int(tag.RowsAffected()) < qty {
			return nil, ErrNotEnoughItems
		}
		t.items(seller, it.Key, -qty, "market_list")
		t.items(ItemEscrow, it.Key, qty, "market_list")
		t.memo = fmt.Sprintf("listing %d: %d× %s at %d", l.ID, qty, it.Name, unitPrice)
		return l, nil
	})
	return r, err
}

// lockListing locks listing id for this transaction and returns it.
func (t *txn) lockListing(ctx context.Context, id int64) (Listing, error) {
	l, err := t.s.scanLocked(t.QueryRow(ctx, `SELECT `+lockedListingColumns+` FROM economy.market_listings WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Listing{}, ErrNoListing
	}
	if err != nil {
		return Listing{}, fmt.Errorf("lock listing: %w", err)
	}
	return l, nil
}

// lockedListingColumns are what a change of a listing reads of it.
const lockedListingColumns = `id, seller_id, item_key, listed, remaining, unit_price, state, created_at, expires_at, kind,
	coalesce(companion_id, 0)`

func (s *Service) scanLocked(row pgx.Row) (Listing, error) {
	var l Listing
	var cid int64
	if err := row.Scan(&l.ID, &l.Seller, &l.Item, &l.Listed, &l.Remaining, &l.UnitPrice, &l.State, &l.CreatedAt, &l.ExpiresAt,
		&l.Kind, &cid); err != nil {
		return Listing{}, err
	}
	if cid != 0 {
		l.Companion = &ListedCompanion{ID: cid}
	}
	s.describe(&l)
	return l, nil
}

// describe fills a listing's item name and rarity from the catalogue.
func (s *Service) describe(l *Listing) {
	l.ItemName = l.Item
	if l.Kind == KindCompanion {
		if m, ok := s.cat.Model(l.Item); ok {
			l.ItemName, l.Rarity = m.Name, m.Rarity
		}
		if l.Companion != nil {
			l.Companion.Model = l.Item
		}
		return
	}
	if it, ok := s.cat.Item(l.Item); ok {
		l.ItemName, l.Rarity = it.Name, it.Rarity
	}
}

// lockPair locks two accounts in ID order (creating them when new), so
// that concurrent purchases between the same players cannot deadlock.
func (t *txn) lockPair(ctx context.Context, a, b int64) error {
	for _, u := range []int64{min(a, b), max(a, b)} {
		if _, err := t.lockAccount(ctx, u); err != nil {
			return err
		}
	}
	return nil
}

// MarketBuy buys qty items (0: all that remain) of a listing, in one
// SERIALIZABLE transaction: the buyer pays the price, the seller receives
// it less the market fee (to the Sink), and the items move from escrow to
// the buyer. Buying your own listing, a closed or expired one, or more
// than remains is refused.
func (s *Service) MarketBuy(ctx context.Context, op Op, buyer, listing int64, qty int) (MarketPurchase, error) {
	if qty < 0 || qty > MaxQuantity {
		return MarketPurchase{}, ErrBadQuantity
	}
	if listing <= 0 {
		return MarketPurchase{}, ErrNoListing
	}
	var r MarketPurchase
	_, err := s.mutate(ctx, "market_buy", op, buyer, &r, func(ctx context.Context, t *txn) (any, error) {
		l, err := t.lockListing(ctx, listing)
		if err != nil {
			return nil, err
		}
		terms, err := marketSale(listingState{Seller: l.Seller, Remaining: l.Remaining, UnitPrice: l.UnitPrice,
			Open: l.State == "open", ExpiresAt: l.ExpiresAt}, buyer, qty, t.now)
		if err != nil {
			return nil, err
		}
		if err := t.lockPair(ctx, buyer, l.Seller); err != nil {
			return nil, err
		}
		w, err := t.credit(ctx, buyer, Sink, -terms.Total)
		if err != nil {
			return nil, err
		}
		if _, err := t.credit(ctx, l.Seller, Sink, terms.Proceeds); err != nil {
			return nil, err
		}
		if l.Kind == KindCompanion {
			return t.buyCompanion(ctx, op, l, buyer, terms, w)
		}
		tag, err := t.Exec(ctx, `WITH moved AS (
				DELETE FROM economy.market_escrow WHERE item_id IN (
					SELECT item_id FROM economy.market_escrow WHERE listing_id = $1 ORDER BY item_id LIMIT $2)
				RETURNING item_id, item_key, durability)
			INSERT INTO economy.items (id, owner_id, item_key, durability, acquired_at)
			SELECT item_id, $3, item_key, durability, $4 FROM moved`, listing, terms.Quantity, buyer, t.now)
		if err != nil {
			return nil, fmt.Errorf("market buy: %w", err)
		}
		if int(tag.RowsAffected()) != terms.Quantity {
			return nil, fmt.Errorf("market buy: listing %d holds %d items in escrow, want %d", listing, tag.RowsAffected(), terms.Quantity)
		}
		left := l.Remaining - terms.Quantity
		if _, err := t.Exec(ctx, `UPDATE economy.market_listings SET remaining = $2,
			state = CASE WHEN $2 = 0 THEN 'sold' ELSE 'open' END,
			closed_at = CASE WHEN $2 = 0 THEN $3::timestamptz END WHERE id = $1`, listing, left, t.now); err != nil {
			return nil, fmt.Errorf("market buy: %w", err)
		}
		if _, err := t.Exec(ctx, `INSERT INTO economy.market_sales
			(op_id, listing_id, item_key, seller_id, buyer_id, quantity, unit_price, fee, sold_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			string(op), listing, l.Item, l.Seller, buyer, terms.Quantity, l.UnitPrice, terms.Fee, t.now); err != nil {
			return nil, fmt.Errorf("market buy: %w", err)
		}
		t.items(ItemEscrow, l.Item, -terms.Quantity, "market_buy")
		t.items(buyer, l.Item, terms.Quantity, "market_buy")
		t.memo = fmt.Sprintf("listing %d: %d× %s from %d", listing, terms.Quantity, l.ItemName, l.Seller)
		return MarketPurchase{Listing: listing, Seller: l.Seller, Item: l.Item, ItemName: l.ItemName, Quantity: terms.Quantity,
			UnitPrice: l.UnitPrice, Total: terms.Total, Fee: terms.Fee, Left: left, Wallet: w}, nil
	})
	return r, err
}

// MarketCancel closes seller's open listing and returns what is left of
// it to the seller's inventory.
func (s *Service) MarketCancel(ctx context.Context, op Op, seller, listing int64) (Listing, error) {
	if listing <= 0 {
		return Listing{}, ErrNoListing
	}
	var r Listing
	_, err := s.mutate(ctx, "market_cancel", op, seller, &r, func(ctx context.Context, t *txn) (any, error) {
		l, err := t.lockListing(ctx, listing)
		if err != nil {
			return nil, err
		}
		switch {
		case l.Seller != seller:
			return nil, ErrNotYourListing
		case l.State != "open":
			return nil, ErrListingClosed
		}
		if _, err := t.lockAccount(ctx, seller); err != nil {
			return nil, err
		}
		if err := t.unlist(ctx, &l, "cancelled"); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("listing %d: %d× %s back", l.ID, l.Listed, l.ItemName)
		return l, nil
	})
	return r, err
}

// unlist closes open listing l as state, moving its escrow back to the
// seller; l.Listed is set to the number returned.
func (t *txn) unlist(ctx context.Context, l *Listing, state string) error {
	if l.Kind == KindCompanion {
		return t.unlistCompanion(ctx, l, state)
	}
	tag, err := t.Exec(ctx, `WITH moved AS (
			DELETE FROM economy.market_escrow WHERE listing_id = $1
			RETURNING item_id, item_key, durability, acquired_at)
		INSERT INTO economy.items (id, owner_id, item_key, durability, acquired_at)
		SELECT item_id, $2, item_key, durability, acquired_at FROM moved`, l.ID, l.Seller)
	if err != nil {
		return fmt.Errorf("unlist: %w", err)
	}
	n := int(tag.RowsAffected())
	if n != l.Remaining {
		return fmt.Errorf("unlist: listing %d holds %d items in escrow, want %d", l.ID, n, l.Remaining)
	}
	if _, err := t.Exec(ctx, `UPDATE economy.market_listings SET remaining = 0, state = $2, closed_at = $3 WHERE id = $1`,
		l.ID, state, t.now); err != nil {
		return fmt.Errorf("unlist: %w", err)
	}
	t.items(ItemEscrow, l.Item, -n, "market_"+state)
	t.items(l.Seller, l.Item, n, "market_"+state)
	l.Listed, l.Remaining, l.State = n, 0, state
	return nil
}

// errNothingToExpire ends an expiry attempt that found its listing taken
// or already closed; nothing is stored for it.
var errNothingToExpire = errors.New("economy: listing not expirable")

// SweepMarket closes up to limit expired listings and returns their items
// to the sellers, and reports how many it closed. Any number of nodes may
// sweep at once: each listing is taken with FOR UPDATE SKIP LOCKED, and its
// return is the operation "market_expire:<id>", applied once.
func (s *Service) SweepMarket(ctx context.Context, limit int) (int, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM economy.market_listings
		WHERE state = 'open' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, s.now(), limit)
	if err != nil {
		return 0, fmt.Errorf("market sweep: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return 0, fmt.Errorf("market sweep: %w", err)
	}
	n := 0
	for _, id := range ids {
		var seller int64
		if err := s.pool.QueryRow(ctx, `SELECT seller_id FROM economy.market_listings WHERE id = $1`, id).Scan(&seller); err != nil {
			return n, fmt.Errorf("market sweep: %w", err)
		}
		_, err := s.mutate(ctx, "market_expire", Op(fmt.Sprintf("market_expire:%d", id)), seller, nil,
			func(ctx context.Context, t *txn) (any, error) {
				l, err := s.scanLocked(t.QueryRow(ctx, `SELECT `+lockedListingColumns+`
					FROM economy.market_listings WHERE id = $1 AND state = 'open' AND expires_at <= $2
					FOR UPDATE SKIP LOCKED`, id, t.now))
				if errors.Is(err, pgx.ErrNoRows) {
					return nil, errNothingToExpire
				}
				if err != nil {
					return nil, fmt.Errorf("expire: %w", err)
				}
				if _, err := t.lockAccount(ctx, l.Seller); err != nil {
					return nil, err
				}
				if err := t.unlist(ctx, &l, "expired"); err != nil {
					return nil, err
				}
				t.memo = fmt.Sprintf("listing %d: %d× %s expired", l.ID, l.Listed, l.ItemName)
				return l, nil
			})
		switch {
		case errors.Is(err, errNothingToExpire):
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// RunMarketSweeper sweeps expired listings every interval until ctx ends.
// The node runs one per process; errors are passed to report and the
// sweep goes on.
func (s *Service) RunMarketSweeper(ctx context.Context, interval time.Duration, report func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := s.SweepMarket(ctx, 100)
			if err != nil && ctx.Err() == nil && report != nil {
				report(err)
			}
			if err != nil || n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
