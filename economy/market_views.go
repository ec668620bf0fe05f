package economy

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// listingColumns are a listing's columns, and the uses left of the most
// worn item in its escrow (0 for items that do not wear); for a companion
// listing, its companion's name and XP.
const listingColumns = `id, seller_id, item_key, listed, remaining, unit_price, state, created_at, expires_at,
	coalesce((SELECT min(e.durability) FROM economy.market_escrow e WHERE e.listing_id = market_listings.id), 0),
	kind, coalesce(companion_id, 0),
	coalesce((SELECT c.name FROM economy.companions c WHERE c.id = market_listings.companion_id), ''),
	coalesce((SELECT c.xp FROM economy.companions c WHERE c.id = market_listings.companion_id), 0)`

func (s *Service) scanListings(rows pgx.Rows) ([]Listing, error) {
	var out []Listing
	for rows.Next() {
		var l Listing
		var cid, xp int64
		var name string
		if err := rows.Scan(&l.ID, &l.Seller, &l.Item, &l.Listed, &l.Remaining, &l.UnitPrice, &l.State, &l.CreatedAt, &l.ExpiresAt, &l.Worn,
			&l.Kind, &cid, &name, &xp); err != nil {
			return nil, err
		}
		if cid != 0 {
			l.Companion = &ListedCompanion{ID: cid, Name: name, Level: levelFor(xp, s.cat.Companions.MaxLevel)}
		}
		s.describe(&l)
		out = append(out, l)
	}
	return out, rows.Err()
}

// MarketBrowse returns one page of the open listings, of one item or of
// all (item ""), in order sort (SortCheapest when "").
func (s *Service) MarketBrowse(ctx context.Context, item, sort string, page int) (Page[Listing], error) {
	if sort == "" {
		sort = SortCheapest
	}
	order, ok := marketOrders[sort]
	if !ok {
		return Page[Listing]{}, ErrBadSort
	}
	if item != "" {
		if _, ok := s.cat.Item(item); !ok {
			return Page[Listing]{}, ErrUnknownItem
		}
	}
	if page < 0 {
		return Page[Listing]{}, ErrBadPage
	}
	out := Page[Listing]{Page: page}
	err := s.read(ctx, "market_browse", func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM economy.market_listings
			WHERE state = 'open' AND expires_at > $1 AND ($2 = '' OR (kind = 'item' AND item_key = $2))`, now, item).Scan(&out.Total); err != nil {
			return fmt.Errorf("market browse: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+listingColumns+` FROM economy.market_listings
			WHERE state = 'open' AND expires_at > $1 AND ($2 = '' OR (kind = 'item' AND item_key = $2))
			ORDER BY `+order+` LIMIT $3 OFFSET $4`, now, item, PageSize, page*PageSize)
		if err != nil {
			return fmt.Errorf("market browse: %w", err)
		}
		out.Rows, err = s.scanListings(rows)
		if err != nil {
			return fmt.Errorf("market browse: %w", err)
		}
		return nil
	})
	if err != nil {
		return Page[Listing]{}, err
	}
	out.Pages = pages(out.Total)
	if page >= out.Pages {
		return Page[Listing]{}, ErrBadPage
	}
	return out, nil
}

// MarketMine returns seller's open listings (expired ones not yet swept
// included), newest first: at most MaxListings.
func (s *Service) MarketMine(ctx context.Context, seller int64) ([]Listing, error) {
	if seller <= 0 {
		return nil, ErrBadUser
	}
	var out []Listing
	err := s.read(ctx, "market_mine", func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+listingColumns+` FROM economy.market_listings
			WHERE seller_id = $1 AND state = 'open' ORDER BY id DESC`, seller)
		if err != nil {
			return fmt.Errorf("market mine: %w", err)
		}
		out, err = s.scanListings(rows)
		if err != nil {
			return fmt.Errorf("market mine: %w", err)
		}
		return nil
	})
	return out, err
}

// MarketPrice reports item's last sales and its 7-day median and volume.
func (s *Service) MarketPrice(ctx context.Context, item string) (PriceReport, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return PriceReport{}, ErrUnknownItem
	}
	r := PriceReport{Item: it.Key, ItemName: it.Name}
	err := s.read(ctx, "market_price", func(ctx context.Context, tx pgx.Tx) error {
		now := s.now()
		rows, err := tx.Query(ctx, `SELECT quantity, unit_price, sold_at FROM economy.market_sales
			WHERE kind = 'item' AND item_key = $1 AND sold_at > $2 ORDER BY sold_at DESC`, it.Key, now.Add(-PriceWindow))
		if err != nil {
			return fmt.Errorf("market price: %w", err)
		}
		week, err := pgx.CollectRows(rows, pgx.RowToStructByPos[Sale])
		if err != nil {
			return fmt.Errorf("market price: %w", err)
		}
		r.Median, r.Volume, r.Credits = priceStats(week)
		rows, err = tx.Query(ctx, `SELECT quantity, unit_price, sold_at FROM economy.market_sales
			WHERE kind = 'item' AND item_key = $1 ORDER BY sold_at DESC LIMIT 5`, it.Key)
		if err != nil {
			return fmt.Errorf("market price: %w", err)
		}
		if r.Last, err = pgx.CollectRows(rows, pgx.RowToStructByPos[Sale]); err != nil {
			return fmt.Errorf("market price: %w", err)
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(min(unit_price), 0) FROM economy.market_listings
			WHERE kind = 'item' AND item_key = $1 AND state = 'open' AND expires_at > $2`, it.Key, now).Scan(&r.Lowest); err != nil {
			return fmt.Errorf("market price: %w", err)
		}
		return nil
	})
	return r, err
}
