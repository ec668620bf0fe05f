package economy

import (
	"context"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// MaxLeaderboard bounds the rows of one Leaderboard call.
const MaxLeaderboard = 100

// maxReason bounds the length of an admin adjustment's reason, in runes.
const maxReason = 200

// adminHeader checks the admin and reason of an adjustment and returns the
// header the operation row records.
func adminHeader(admin int64, reason string) (header, error) {
	reason = strings.TrimSpace(reason)
	if admin <= 0 {
		return header{}, ErrBadUser
	}
	if reason == "" || utf8.RuneCountInString(reason) > maxReason || !utf8.ValidString(reason) ||
		strings.ContainsAny(reason, "\r\n\x00") {
		return header{}, ErrBadReason
	}
	return header{admin: admin, reason: reason, memo: fmt.Sprintf("%s (by admin %d)", reason, admin)}, nil
}

// AdjustCredits is an admin adjustment of user's wallet, made by admin for
// reason, as operation op: amount > 0 is minted into the wallet, amount < 0
// is taken from the wallet to the sink (ErrInsufficientFunds when the
// wallet holds less). It returns the account after the adjustment; a
// replayed op returns the first answer and changes nothing. A zero amount
// (ErrZeroAdjustment) or one past int64 (ErrOverflow) is refused.
func (s *Service) AdjustCredits(ctx context.Context, op Op, admin, user, amount int64, reason string) (Account, error) {
	hdr, err := adminHeader(admin, reason)
	switch {
	case err != nil:
		return Account{}, err
	case amount == 0:
		return Account{}, ErrZeroAdjustment
	case amount == math.MinInt64:
		return Account{}, ErrOverflow
	}
	counter := Mint
	if amount < 0 {
		counter = Sink
	}
	var a Account
	_, err = s.mutateAs(ctx, "admin_credits", op, user, hdr, &a, func(ctx context.Context, t *txn) (any, error) {
		acct, err := t.lockAccount(ctx, user)
		if err != nil {
			return nil, err
		}
		if acct.Wallet, err = t.credit(ctx, user, counter, amount); err != nil {
			return nil, err
		}
		return acct, nil
	})
	if err != nil {
		return Account{}, err
	}
	return a, nil
}

// itemAdjustment is the stored result of AdjustItems.
type itemAdjustment struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// AdjustItems is an admin adjustment of user's items, made by admin for
// reason, as operation op: qty > 0 creates qty items of key (tools at full
// durability), qty < 0 destroys -qty of user's unvaulted ones, most worn
// first (ErrNotEnoughItems when user has fewer). Every item created or
// destroyed is an item leg. A replayed op changes nothing and returns the
// first answer. qty is 1..MaxQuantity either way (ErrBadQuantity).
func (s *Service) AdjustItems(ctx context.Context, op Op, admin, user int64, item string, qty int, reason string) error {
	hdr, err := adminHeader(admin, reason)
	if err != nil {
		return err
	}
	it, ok := s.cat.Item(item)
	switch {
	case !ok:
		return ErrUnknownItem
	case qty == 0 || qty > MaxQuantity || qty < -MaxQuantity:
		return ErrBadQuantity
	}
	_, err = s.mutateAs(ctx, "admin_items", op, user, hdr, nil, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		if qty < 0 {
			if _, err := t.takeItems(ctx, user, it.Key, -qty); err != nil {
				return nil, err
			}
		} else {
			var dur *int
			if it.Type == TypeTool {
				dur = &it.Durability
			}
			if _, err := t.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key, durability, acquired_at)
				SELECT $1, $2, $3, $4 FROM generate_series(1, $5)`, user, it.Key, dur, t.now, qty); err != nil {
				return nil, fmt.Errorf("adjust items: %w", err)
			}
		}
		t.items(user, it.Key, qty, "admin")
		return itemAdjustment{Item: it.Key, Quantity: qty}, nil
	})
	return err
}

// Leaderboard returns up to limit (1..MaxLeaderboard) accounts with
// credits, richest first by wallet + bank; ties go to the lower user ID.
// It reads every account row, so it suits a dashboard page, not a hot
// path.
func (s *Service) Leaderboard(ctx context.Context, limit int) ([]Account, error) {
	if limit < 1 || limit > MaxLeaderboard {
		return nil, ErrBadLimit
	}
	var out []Account
	err := s.readLagging(ctx, "leaderboard", func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT user_id, wallet, bank, bank_capacity, streak FROM economy.accounts
			WHERE wallet > 0 OR bank > 0 ORDER BY wallet::numeric + bank DESC, user_id LIMIT $1`, limit)
		if err != nil {
			return fmt.Errorf("leaderboard: %w", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
			var a Account
			err := r.Scan(&a.UserID, &a.Wallet, &a.Bank, &a.BankCapacity, &a.Streak)
			return a, err
		})
		if err != nil {
			return fmt.Errorf("leaderboard: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
