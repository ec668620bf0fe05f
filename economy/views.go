package economy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PageSize is the number of rows on one page of Inventory and CurrencyLog.
const PageSize = 10

// Page is one page of a listing; Page counts from 0.
type Page[T any] struct {
	Rows  []T
	Page  int
	Pages int // at least 1
	Total int // rows over all pages
}

func pages(total int) int { return max(1, (total+PageSize-1)/PageSize) }

// Stack is one kind of item in an inventory.
type Stack struct {
	Item       string
	Name       string
	Type       string
	Rarity     string
	Count      int
	Vaulted    int
	Durability int // of the most worn tool; 0 for other types
}

// Inventory lists user's items grouped by kind, one page at a time.
func (s *Service) Inventory(ctx context.Context, user int64, page int) (Page[Stack], error) {
	if user <= 0 {
		return Page[Stack]{}, ErrBadUser
	}
	if page < 0 {
		return Page[Stack]{}, ErrBadPage
	}
	out := Page[Stack]{Page: page}
	err := s.read(ctx, "inventory", func(ctx context.Context, tx pgx.Tx) error {
		out.Rows = nil
		if err := tx.QueryRow(ctx, `SELECT count(DISTINCT item_key) FROM economy.items WHERE owner_id = $1`, user).Scan(&out.Total); err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT i.item_key, count(*), count(v.item_id), coalesce(min(i.durability), 0)
			FROM economy.items i LEFT JOIN economy.vault v ON v.item_id = i.id
			WHERE i.owner_id = $1 GROUP BY i.item_key ORDER BY i.item_key LIMIT $2 OFFSET $3`,
			user, PageSize, page*PageSize)
		if err != nil {
			return fmt.Errorf("inventory: %w", err)
		}
		out.Rows, err = s.scanStacks(rows)
		return err
	})
	if err != nil {
		return Page[Stack]{}, err
	}
	out.Pages = pages(out.Total)
	if page >= out.Pages {
		return Page[Stack]{}, ErrBadPage
	}
	return out, nil
}

// CollectionEntry is one collectible and how many of it user ever found.
type CollectionEntry struct {
	Item   string
	Name   string
	Kind   string
	Rarity string
	Found  int64
}

// Collection is what a user has found among the collectibles matching a
// filter, with completion.
type Collection struct {
	Filter  string
	Entries []CollectionEntry
	Have    int // distinct collectibles found
	Total   int // distinct collectibles matching the filter
}

// Complete is the completion in percent, rounded down.
func (c Collection) Complete() int {
	if c.Total == 0 {
		return 0
	}
	return c.Have * 100 / c.Total
}

// Collection returns user's finds; filter is "" (everything), a rarity
// (for example "rare") or a kind (for example "fish").
func (s *Service) Collection(ctx context.Context, user int64, filter string) (Collection, error) {
	if user <= 0 {
		return Collection{}, ErrBadUser
	}
	c := Collection{Filter: filter}
	_, isRarity := s.cat.RarityRank(filter)
	var want []*Item
	for i := range s.cat.Items {
		it := &s.cat.Items[i]
		if it.Type == TypeCollectible && (filter == "" || isRarity && it.Rarity == filter || it.Kind == filter) {
			want = append(want, it)
		}
	}
	if len(want) == 0 {
		return Collection{}, ErrUnknownItem
	}
	found := map[string]int64{}
	err := s.readLagging(ctx, "collection", func(ctx context.Context, tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT item_key, found FROM economy.collection WHERE user_id = $1`, user)
		if err != nil {
			return fmt.Errorf("collection: %w", err)
		}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				return fmt.Errorf("collection: %w", err)
			}
			found[k] = n
		}
		return rows.Err()
	})
	if err != nil {
		return Collection{}, err
	}
	for _, it := range want {
		e := CollectionEntry{Item: it.Key, Name: it.Name, Kind: it.Kind, Rarity: it.Rarity, Found: found[it.Key]}
		if e.Found > 0 {
			c.Have++
		}
		c.Entries = append(c.Entries, e)
	}
	c.Total = len(want)
	return c, nil
}

// VaultEntry is one item on show in a vault.
type VaultEntry struct {
	ItemID  int64     `json:"item_id"`
	Item    string    `json:"item"`
	Name    string    `json:"name"`
	Rarity  string    `json:"rarity"`
	AddedAt time.Time `json:"added_at"`
}

// VaultAdd puts one of user's collectibles of key (rare or better) on
// show; vaulted items cannot be sold or used.
func (s *Service) VaultAdd(ctx context.Context, op Op, user int64, item string) (VaultEntry, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return VaultEntry{}, ErrUnknownItem
	}
	if !s.cat.vaultable(it) {
		return VaultEntry{}, ErrNotVaultable
	}
	var r VaultEntry
	_, err := s.mutate(ctx, "vault_add", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		var n int
		if err := t.QueryRow(ctx, `SELECT count(*) FROM economy.vault WHERE owner_id = $1`, user).Scan(&n); err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		perks, err := t.perks(ctx, user)
		if err != nil {
			return nil, err
		}
		if n >= perks.VaultCapacity() {
			return nil, ErrVaultFull
		}
		e := VaultEntry{Item: it.Key, Name: it.Name, Rarity: it.Rarity, AddedAt: t.now}
		err = t.QueryRow(ctx, `INSERT INTO economy.vault (item_id, owner_id, added_at)
			SELECT i.id, i.owner_id, $3 FROM economy.items i
			WHERE i.owner_id = $1 AND i.item_key = $2 AND NOT EXISTS (SELECT 1 FROM economy.vault v WHERE v.item_id = i.id)
			ORDER BY i.id LIMIT 1 RETURNING item_id`, user, it.Key, t.now).Scan(&e.ItemID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotEnoughItems
		}
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		t.memo = it.Name
		return e, nil
	})
	return r, err
}

// VaultRemove takes one item of key off show.
func (s *Service) VaultRemove(ctx context.Context, op Op, user int64, item string) (VaultEntry, error) {
	it, ok := s.cat.Item(item)
	if !ok {
		return VaultEntry{}, ErrUnknownItem
	}
	var r VaultEntry
	_, err := s.mutate(ctx, "vault_remove", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		e := VaultEntry{Item: it.Key, Name: it.Name, Rarity: it.Rarity}
		err := t.QueryRow(ctx, `DELETE FROM economy.vault WHERE item_id = (
				SELECT v.item_id FROM economy.vault v JOIN economy.items i ON i.id = v.item_id
				WHERE v.owner_id = $1 AND i.item_key = $2 ORDER BY v.added_at DESC, v.item_id LIMIT 1)
			RETURNING item_id, added_at`, user, it.Key).Scan(&e.ItemID, &e.AddedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, ErrNotInVault
		}
		if err != nil {
			return nil, fmt.Errorf("vault: %w", err)
		}
		t.memo = it.Name
		return e, nil
	})
	return r, err
}

// Vault lists the items user has on show (anyone may look).
func (s *Service) Vault(ctx context.Context, user int64) ([]VaultEntry, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var out []VaultEntry
	err := s.read(ctx, "vault", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT v.item_id, i.item_key, v.added_at FROM economy.vault v
			JOIN economy.items i ON i.id = v.item_id WHERE v.owner_id = $1 ORDER BY v.added_at, v.item_id`, user)
		if err != nil {
			return fmt.Errorf("vault: %w", err)
		}
		for rows.Next() {
			var e VaultEntry
			if err := rows.Scan(&e.ItemID, &e.Item, &e.AddedAt); err != nil {
				return fmt.Errorf("vault: %w", err)
			}
			e.Name = e.Item
			if it, ok := s.cat.Item(e.Item); ok {
				e.Name, e.Rarity = it.Name, it.Rarity
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// LogEntry is one ledger leg of a user: credits in (positive) or out.
type LogEntry struct {
	TxID   int64
	Kind   string
	Memo   string
	Amount int64
	At     time.Time
}

// CurrencyLog lists user's own ledger legs, newest first, a page at a
// time. Deposits and withdrawals move credits inside an account and do not
// appear.
func (s *Service) CurrencyLog(ctx context.Context, user int64, page int) (Page[LogEntry], error) {
	if user <= 0 {
		return Page[LogEntry]{}, ErrBadUser
	}
	if page < 0 {
		return Page[LogEntry]{}, ErrBadPage
	}
	out := Page[LogEntry]{Page: page}
	err := s.readLagging(ctx, "currencylog", func(ctx context.Context, tx pgx.Tx) error {
		out.Rows = nil
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM economy.ledger_legs WHERE account_id = $1`, user).Scan(&out.Total); err != nil {
			return fmt.Errorf("currencylog: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT l.tx_id, t.kind, t.memo, l.amount, t.created_at
			FROM economy.ledger_legs l JOIN economy.transactions t ON t.id = l.tx_id
			WHERE l.account_id = $1 ORDER BY l.tx_id DESC LIMIT $2 OFFSET $3`, user, PageSize, page*PageSize)
		if err != nil {
			return fmt.Errorf("currencylog: %w", err)
		}
		for rows.Next() {
			var e LogEntry
			if err := rows.Scan(&e.TxID, &e.Kind, &e.Memo, &e.Amount, &e.At); err != nil {
				return fmt.Errorf("currencylog: %w", err)
			}
			out.Rows = append(out.Rows, e)
		}
		return rows.Err()
	})
	if err != nil {
		return Page[LogEntry]{}, err
	}
	out.Pages = pages(out.Total)
	if page >= out.Pages {
		return Page[LogEntry]{}, ErrBadPage
	}
	return out, nil
}

// Buff is an active buff of a user.
type Buff struct {
	Kind    string
	Percent int
	Charges int
	Until   *time.Time
}

// Buffs lists user's active buffs.
func (s *Service) Buffs(ctx context.Context, user int64) ([]Buff, error) {
	var out []Buff
	err := s.read(ctx, "buffs", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT kind, percent, charges, expires_at FROM economy.buffs
			WHERE user_id = $1 AND (charges > 0 OR expires_at > $2) ORDER BY kind`, user, s.now())
		if err != nil {
			return fmt.Errorf("buffs: %w", err)
		}
		for rows.Next() {
			var b Buff
			if err := rows.Scan(&b.Kind, &b.Percent, &b.Charges, &b.Until); err != nil {
				return fmt.Errorf("buffs: %w", err)
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, err
}
