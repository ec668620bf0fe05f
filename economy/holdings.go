package economy

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Holdings lists every kind of item user owns, as Inventory's rows but in
// one read and without pages, ordered by item key: what an autocomplete
// cache loads once and then ranks per keystroke.
func (s *Service) Holdings(ctx context.Context, user int64) ([]Stack, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var out []Stack
	err := s.read(ctx, "holdings", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT i.item_key, count(*), count(v.item_id), coalesce(min(i.durability), 0)
			FROM economy.items i LEFT JOIN economy.vault v ON v.item_id = i.id
			WHERE i.owner_id = $1 GROUP BY i.item_key ORDER BY i.item_key`, user)
		if err != nil {
			return fmt.Errorf("holdings: %w", err)
		}
		out, err = s.scanStacks(rows)
		return err
	})
	return out, err
}

// scanStacks reads rows of (item key, count, vaulted, durability) into
// stacks named from the catalogue, closing rows.
func (s *Service) scanStacks(rows pgx.Rows) ([]Stack, error) {
	defer rows.Close()
	var out []Stack
	for rows.Next() {
		var st Stack
		if err := rows.Scan(&st.Item, &st.Count, &st.Vaulted, &st.Durability); err != nil {
			return nil, fmt.Errorf("stacks: %w", err)
		}
		st.Name = st.Item
		if it, ok := s.cat.Item(st.Item); ok {
			st.Name, st.Type, st.Rarity = it.Name, it.Type, it.Rarity
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stacks: %w", err)
	}
	return out, nil
}
