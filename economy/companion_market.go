package economy

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Listing kinds.
const (
	KindItem      = "item"
	KindCompanion = "companion"
)

// MarketSellCompanion lists seller's companion ref at price. The companion
// leaves its owner for the market's escrow (owner ItemEscrow) in the same
// transaction, so while listed it cannot train, battle, breed, be released,
// enter stasis or be traded; it still holds a slot of the seller's cap, so
// that its return never passes it. A companion in stasis, in a battle or
// breeding is refused.
func (s *Service) MarketSellCompanion(ctx context.Context, op Op, seller int64, ref string, price int64) (Listing, error) {
	if err := s.companionsOn(); err != nil {
		return Listing{}, err
	}
	if err := checkListing(1, price, 0); err != nil {
		return Listing{}, err
	}
	var r Listing
	_, err := s.mutate(ctx, "market_sell_companion", op, seller, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, seller); err != nil {
			return nil, err
		}
		c, err := t.lockCompanion(ctx, seller, ref)
		if err != nil {
			return nil, err
		}
		var open int
		if err := t.QueryRow(ctx, `SELECT count(*) FROM economy.market_listings WHERE seller_id = $1 AND state = 'open'`,
			seller).Scan(&open); err != nil {
			return nil, fmt.Errorf("market sell companion: %w", err)
		}
		if err := checkCompanionListing(c, price, open); err != nil {
			return nil, err
		}
		l := Listing{Kind: KindCompanion, Seller: seller, Item: c.Model, Listed: 1, Remaining: 1, UnitPrice: price,
			State: "open", CreatedAt: t.now, ExpiresAt: t.now.Add(ListingLifetime),
			Companion: &ListedCompanion{ID: c.ID, Name: c.Name, Level: c.Level}}
		s.describe(&l)
		if err := t.QueryRow(ctx, `INSERT INTO economy.market_listings
			(seller_id, kind, item_key, companion_id, listed, remaining, unit_price, created_at, expires_at)
			VALUES ($1, 'companion', $2, $3, 1, 1, $4, $5, $6) RETURNING id`,
			seller, c.Model, c.ID, price, l.CreatedAt, l.ExpiresAt).Scan(&l.ID); err != nil {
			return nil, fmt.Errorf("market sell companion: %w", err)
		}
		if _, err := t.Exec(ctx, `UPDATE economy.companions SET owner_id = $2 WHERE id = $1`, c.ID, ItemEscrow); err != nil {
			return nil, fmt.Errorf("market sell companion: %w", err)
		}
		t.memo = fmt.Sprintf("listing %d: companion %s (#%d) at %d", l.ID, c.Name, c.ID, price)
		return l, nil
	})
	return r, err
}

// buyCompanion ends a purchase of companion listing l (paid already): the
// buyer must have room under their cap, and the companion moves from
// escrow to the buyer.
func (t *txn) buyCompanion(ctx context.Context, op Op, l Listing, buyer int64, terms saleTerms, wallet int64) (any, error) {
	have, err := t.countCompanions(ctx, buyer)
	if err != nil {
		return nil, err
	}
	limit, err := t.companionLimit(ctx, buyer)
	if err != nil {
		return nil, err
	}
	if err := checkCompanionRoom(have, 1, limit); err != nil {
		return nil, err
	}
	c, err := t.moveCompanion(ctx, l.Companion.ID, ItemEscrow, buyer, nil)
	if err != nil {
		return nil, err
	}
	if _, err := t.Exec(ctx, `UPDATE economy.market_listings SET remaining = 0, state = 'sold', closed_at = $2 WHERE id = $1`,
		l.ID, t.now); err != nil {
		return nil, fmt.Errorf("market buy: %w", err)
	}
	if _, err := t.Exec(ctx, `INSERT INTO economy.market_sales
		(op_id, listing_id, kind, item_key, seller_id, buyer_id, quantity, unit_price, fee, sold_at)
		VALUES ($1, $2, 'companion', $3, $4, $5, 1, $6, $7, $8)`,
		string(op), l.ID, l.Item, l.Seller, buyer, l.UnitPrice, terms.Fee, t.now); err != nil {
		return nil, fmt.Errorf("market buy: %w", err)
	}
	t.memo = fmt.Sprintf("listing %d: companion %s (#%d) from %d", l.ID, c.Name, c.ID, l.Seller)
	return MarketPurchase{Listing: l.ID, Seller: l.Seller, Item: l.Item, ItemName: l.ItemName, Quantity: 1,
		UnitPrice: l.UnitPrice, Total: terms.Total, Fee: terms.Fee, Wallet: wallet,
		Companion: &ListedCompanion{ID: c.ID, Name: c.Name, Model: c.Model, Level: c.Level}}, nil
}

// unlistCompanion closes open companion listing l as state and gives the
// companion back to the seller.
func (t *txn) unlistCompanion(ctx context.Context, l *Listing, state string) error {
	c, err := t.moveCompanion(ctx, l.Companion.ID, ItemEscrow, l.Seller, nil)
	if err != nil {
		return err
	}
	if _, err := t.Exec(ctx, `UPDATE economy.market_listings SET remaining = 0, state = $2, closed_at = $3 WHERE id = $1`,
		l.ID, state, t.now); err != nil {
		return fmt.Errorf("unlist: %w", err)
	}
	l.Companion = &ListedCompanion{ID: c.ID, Name: c.Name, Model: c.Model, Level: c.Level}
	l.Remaining, l.State = 0, state
	return nil
}

// errCompanionMoved is an internal inconsistency: a companion was not where
// the market or a trade expected it.
var errCompanionMoved = errors.New("economy: companion not with its expected owner")

// moveCompanion gives companion id from owner from to owner to, renamed
// when to already has a companion of its name, and returns it up to date.
// It fails with errCompanionMoved when from does not hold it, and with
// check's refusal of the companion when check is not nil.
func (t *txn) moveCompanion(ctx context.Context, id, from, to int64, check func(Companion) error) (Companion, error) {
	c, err := scanCompanion(t.QueryRow(ctx, `SELECT `+companionColumns+` FROM economy.companions
		WHERE id = $1 AND owner_id = $2 FOR UPDATE`, id, from))
	if errors.Is(err, pgx.ErrNoRows) {
		return Companion{}, fmt.Errorf("companion %d from %d: %w", id, from, errCompanionMoved)
	}
	if err != nil {
		return Companion{}, fmt.Errorf("move companion: %w", err)
	}
	t.s.fresh(&c, t.now)
	if check != nil {
		if err := check(c); err != nil {
			return Companion{}, err
		}
	}
	rows, err := t.Query(ctx, `SELECT lower(name) FROM economy.companions WHERE owner_id = $1`, to)
	if err != nil {
		return Companion{}, fmt.Errorf("move companion: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return Companion{}, fmt.Errorf("move companion: %w", err)
	}
	taken := make(map[string]bool, len(names))
	for _, n := range names {
		taken[n] = true
	}
	c.Name = freeName(c.Name, taken)
	if _, err := t.Exec(ctx, `UPDATE economy.companions SET owner_id = $2, name = $3 WHERE id = $1`, id, to, c.Name); err != nil {
		return Companion{}, fmt.Errorf("move companion: %w", err)
	}
	c.Owner = to
	return c, nil
}

// companionPlacesAudit counts companions out of place: in escrow without
// exactly one open listing naming it, and open companion listings whose
// companion is not in escrow.
const companionPlacesAudit = `SELECT
	(SELECT count(*) FROM economy.companions c WHERE c.owner_id = -3 AND (SELECT count(*) FROM economy.market_listings l
		WHERE l.kind = 'companion' AND l.state = 'open' AND l.companion_id = c.id) <> 1)
	+ (SELECT count(*) FROM economy.market_listings l WHERE l.kind = 'companion' AND l.state = 'open'
		AND NOT EXISTS (SELECT 1 FROM economy.companions c WHERE c.id = l.companion_id AND c.owner_id = -3))`
