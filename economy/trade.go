package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// TradeOpen opens a trade window between a and b, empty on both sides,
// for TradeLifetime.
func (s *Service) TradeOpen(ctx context.Context, op Op, a, b int64) (Trade, error) {
	if a == b {
		return Trade{}, ErrSelfTrade
	}
	if b <= 0 {
		return Trade{}, ErrBadUser
	}
	var r Trade
	_, err := s.mutate(ctx, "trade_open", op, a, &r, func(ctx context.Context, t *txn) (any, error) {
		tr := Trade{A: a, B: b, Version: 1, State: "open", ExpiresAt: t.now.Add(TradeLifetime),
			Offers: [2]Offer{{Items: map[string]int{}}, {Items: map[string]int{}}}}
		if err := t.QueryRow(ctx, `INSERT INTO economy.trades (a_id, b_id, created_at, expires_at)
			VALUES ($1, $2, $3, $4) RETURNING id`, a, b, t.now, tr.ExpiresAt).Scan(&tr.ID); err != nil {
			return nil, fmt.Errorf("trade open: %w", err)
		}
		t.memo = fmt.Sprintf("trade %d with %d", tr.ID, b)
		return tr, nil
	})
	return r, err
}

// lockTrade locks trade id for this transaction and returns it.
func (t *txn) lockTrade(ctx context.Context, id int64) (Trade, error) {
	tr, err := scanTrade(t.QueryRow(ctx, `SELECT `+tradeColumns+` FROM economy.trades WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Trade{}, ErrNoTrade
	}
	if err != nil {
		return Trade{}, fmt.Errorf("lock trade: %w", err)
	}
	return tr, nil
}

const tradeColumns = `id, a_id, b_id, version, a_offer, b_offer, a_confirmed, b_confirmed, state, expires_at`

func scanTrade(row pgx.Row) (Trade, error) {
	var tr Trade
	var a, b []byte
	if err := row.Scan(&tr.ID, &tr.A, &tr.B, &tr.Version, &a, &b, &tr.Confirmed[0], &tr.Confirmed[1], &tr.State, &tr.ExpiresAt); err != nil {
		return Trade{}, err
	}
	for i, raw := range [][]byte{a, b} {
		if err := json.Unmarshal(raw, &tr.Offers[i]); err != nil {
			return Trade{}, fmt.Errorf("trade %d offer: %w", tr.ID, err)
		}
		if tr.Offers[i].Items == nil {
			tr.Offers[i].Items = map[string]int{}
		}
	}
	return tr, nil
}

// saveTrade writes tr's version, offers, confirmations and state.
func (t *txn) saveTrade(ctx context.Context, tr Trade) error {
	a, _ := json.Marshal(tr.Offers[0])
	b, _ := json.Marshal(tr.Offers[1])
	_, err := t.Exec(ctx, `UPDATE economy.trades SET version = $2, a_offer = $3, b_offer = $4, a_confirmed = $5,
		b_confirmed = $6, state = $7, closed_at = CASE WHEN $7 = 'open' THEN NULL ELSE $8::timestamptz END WHERE id = $1`,
		tr.ID, tr.Version, a, b, tr.Confirmed[0], tr.Confirmed[1], tr.State, t.now)
	if err != nil {
		return fmt.Errorf("save trade: %w", err)
	}
	return nil
}

// Trade returns trade id as it stands.
func (s *Service) Trade(ctx context.Context, id int64) (Trade, error) {
	tr, err := scanTrade(s.pool.QueryRow(ctx, `SELECT `+tradeColumns+` FROM economy.trades WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Trade{}, ErrNoTrade
	}
	if err != nil {
		return Trade{}, fmt.Errorf("economy trade: %w", err)
	}
	return tr, nil
}

// TradeEdit changes user's own offer in trade id, as seen at version (a
// stale version is refused). What is offered must be held now (items not
// vaulted nor listed, credits in the wallet); the swap checks again. Any
// change clears both confirmations.
func (s *Service) TradeEdit(ctx context.Context, op Op, user, id int64, version int, c TradeChange) (Trade, error) {
	if c.Item != "" {
		if _, ok := s.cat.Item(c.Item); !ok {
			return Trade{}, ErrUnknownItem
		}
	}
	var r Trade
	_, err := s.mutate(ctx, "trade_edit", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		tr, err := t.lockTrade(ctx, id)
		if err != nil {
			return nil, err
		}
		tr, err = tradeChange(tr, user, version, c, t.now)
		if err != nil {
			return nil, err
		}
		side, _ := tr.side(user)
		worn, err := t.checkHolds(ctx, user, tr.Offers[side])
		if err != nil {
			return nil, err
		}
		tr.Offers[side].Worn = worn
		if err := t.checkCompanions(ctx, user, &tr.Offers[side]); err != nil {
			return nil, err
		}
		if err := t.saveTrade(ctx, tr); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("trade %d v%d", tr.ID, tr.Version)
		return tr, nil
	})
	return r, err
}

// checkHolds refuses an offer user cannot give now, and returns the uses
// left of the most worn of each offered tool.
func (t *txn) checkHolds(ctx context.Context, user int64, o Offer) (map[string]int, error) {
	a, err := t.lockAccount(ctx, user)
	if err != nil {
		return nil, err
	}
	if o.Credits > a.Wallet {
		return nil, ErrInsufficientFunds
	}
	var worn map[string]int
	for key, n := range o.Items {
		var have, worst int
		if err := t.QueryRow(ctx, `SELECT count(*), coalesce(min(i.durability), 0) FROM economy.items i
			WHERE i.owner_id = $1 AND i.item_key = $2
			AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)`, user, key).Scan(&have, &worst); err != nil {
			return nil, fmt.Errorf("trade holdings: %w", err)
		}
		if have < n {
			return nil, ErrNotEnoughItems
		}
		if worst > 0 {
			if worn == nil {
				worn = map[string]int{}
			}
			worn[key] = worst
		}
	}
	return worn, nil
}

// checkCompanions refuses an offer of a companion user does not hold now
// or that is busy (in stasis, a battle or breeding; a listed one is held by
// the market), and brings the offer's view of each up to date.
func (t *txn) checkCompanions(ctx context.Context, user int64, o *Offer) error {
	for i, x := range o.Companions {
		c, err := t.lockCompanion(ctx, user, fmt.Sprintf("#%d", x.ID))
		if err != nil {
			return err
		}
		if err := idle(c); err != nil {
			return err
		}
		o.Companions[i] = ListedCompanion{ID: c.ID, Name: c.Name, Model: c.Model, Level: c.Level}
	}
	return nil
}

// TradeConfirm confirms user's agreement to trade id as seen at version.
// When the other player confirmed the same version, the swap happens in
// the same transaction: every credit and item is checked again and moved,
// or nothing is (the refusal says what is missing).
func (s *Service) TradeConfirm(ctx context.Context, op Op, user, id int64, version int) (Trade, error) {
	var r Trade
	_, err := s.mutate(ctx, "trade_confirm", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		tr, err := t.lockTrade(ctx, id)
		if err != nil {
			return nil, err
		}
		tr, err = tradeConfirm(tr, user, version, t.now)
		if err != nil {
			return nil, err
		}
		if tr.Agreed() {
			if err := t.swap(ctx, tr); err != nil {
				return nil, err
			}
			tr.State = "done"
		}
		if err := t.saveTrade(ctx, tr); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("trade %d v%d %s", tr.ID, tr.Version, tr.State)
		return tr, nil
	})
	return r, err
}

// swap moves both offers: credits wallet to wallet, items owner to owner
// (never vaulted ones; listed ones are in escrow, not in an inventory),
// the most worn first, as the window shows them (and as the market lists).
func (t *txn) swap(ctx context.Context, tr Trade) error {
	if err := t.lockPair(ctx, tr.A, tr.B); err != nil {
		return err
	}
	players := [2]int64{tr.A, tr.B}
	for side, o := range tr.Offers {
		from, to := players[side], players[1-side]
		if o.Credits > 0 {
			if _, err := t.credit(ctx, from, Sink, -o.Credits); err != nil {
				return err
			}
			if _, err := t.credit(ctx, to, Sink, o.Credits); err != nil {
				return err
			}
		}
		for key, n := range o.Items {
			var moved, worst int
			err := t.QueryRow(ctx, `WITH moved AS (
					UPDATE economy.items SET owner_id = $3, acquired_at = $5 WHERE id IN (
						SELECT i.id FROM economy.items i WHERE i.owner_id = $1 AND i.item_key = $2
						  AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)
						ORDER BY i.durability NULLS FIRST, i.id LIMIT $4 FOR UPDATE)
					RETURNING durability)
				SELECT count(*), coalesce(min(durability), 0) FROM moved`, from, key, to, n, t.now).Scan(&moved, &worst)
			if err != nil {
				return fmt.Errorf("trade swap: %w", err)
			}
			if moved < n {
				return ErrNotEnoughItems.Withf("<@%d> no longer has %d× %s to give.", from, n, key)
			}
			if err := checkWear(o, key, worst); err != nil {
				return err
			}
			t.items(from, key, -n, "trade")
			t.items(to, key, n, "trade")
		}
		for _, x := range o.Companions {
			if _, err := t.moveCompanion(ctx, x.ID, from, to, idle); err != nil {
				if errors.Is(err, errCompanionMoved) {
					return ErrCompanionGone.Withf("<@%d> no longer holds %s (#%d) free to give.", from, x.Name, x.ID)
				}
				return err
			}
		}
	}
	for side, o := range tr.Offers {
		to := players[1-side]
		if len(o.Companions) == 0 {
			continue
		}
		have, err := t.countCompanions(ctx, to)
		if err != nil {
			return err
		}
		limit, err := t.companionLimit(ctx, to)
		if err != nil {
			return err
		}
		if err := checkCompanionRoom(have-len(o.Companions), len(o.Companions), limit); err != nil {
			return ErrCompanionLimit.Withf("<@%d> has no room for the offered companions (the limit is %d).", to, limit)
		}
	}
	return nil
}

// TradeCancel closes trade id; either player may cancel while it is open.
func (s *Service) TradeCancel(ctx context.Context, op Op, user, id int64) (Trade, error) {
	var r Trade
	_, err := s.mutate(ctx, "trade_cancel", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		tr, err := t.lockTrade(ctx, id)
		if err != nil {
			return nil, err
		}
		if _, err := tr.side(user); err != nil {
			return nil, err
		}
		if tr.State != "open" {
			return nil, ErrTradeClosed
		}
		tr.State = "cancelled"
		if err := t.saveTrade(ctx, tr); err != nil {
			return nil, err
		}
		t.memo = fmt.Sprintf("trade %d cancelled", tr.ID)
		return tr, nil
	})
	return r, err
}
