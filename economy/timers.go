package economy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Timers returns every cooldown of user at once (the daily reward, each
// job, gathering, and each companion's training and breeding), ready ones
// first. It reads the primary: a timer shown ready must be ready.
func (s *Service) Timers(ctx context.Context, user int64) ([]Timer, error) {
	if user <= 0 {
		return nil, ErrBadUser
	}
	var lastDaily *time.Time
	err := s.pool.QueryRow(ctx, `SELECT last_daily FROM economy.accounts WHERE user_id = $1`, user).Scan(&lastDaily)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("economy timers: %w", err)
	}
	stored := map[string]time.Time{}
	rows, err := s.pool.Query(ctx, `SELECT action, ready_at FROM economy.cooldowns WHERE user_id = $1`, user)
	if err != nil {
		return nil, fmt.Errorf("economy timers: %w", err)
	}
	for rows.Next() {
		var action string
		var ready time.Time
		if err := rows.Scan(&action, &ready); err != nil {
			rows.Close()
			return nil, fmt.Errorf("economy timers: %w", err)
		}
		stored[action] = ready
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("economy timers: %w", err)
	}
	var comps []companionTimes
	crows, err := s.pool.Query(ctx, `SELECT id, name, train_ready_at, breed_ready_at FROM economy.companions
		WHERE owner_id = $1 AND (train_ready_at IS NOT NULL OR breed_ready_at IS NOT NULL) ORDER BY id`, user)
	if err != nil {
		return nil, fmt.Errorf("economy timers: %w", err)
	}
	for crows.Next() {
		var c companionTimes
		if err := crows.Scan(&c.ID, &c.Name, &c.Train, &c.Breed); err != nil {
			crows.Close()
			return nil, fmt.Errorf("economy timers: %w", err)
		}
		comps = append(comps, c)
	}
	crows.Close()
	if err := crows.Err(); err != nil {
		return nil, fmt.Errorf("economy timers: %w", err)
	}
	return timersFrom(s.now(), s.cat, lastDaily, stored, comps), nil
}
