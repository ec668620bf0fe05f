package economy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The premium store: entitlements as Discord last reported them, the
// perks they give, and the grants of one-time purchases. Rules are in
// premium_rules.go.

// rowQuerier is what perksAt reads through: a pool or a transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// perksAt returns user's perks at now: premium while an active
// entitlement to the subscription SKU is on record.
func (s *Service) perksAt(ctx context.Context, q rowQuerier, user int64, now time.Time) (Perks, error) {
	if s.skus.Subscription == 0 || !s.cat.Premium.defined() {
		return s.cat.PerksFor(false), nil
	}
	var premium bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.entitlements
		WHERE user_id = $1 AND sku_id = $2 AND NOT deleted
		AND (starts_at IS NULL OR starts_at <= $3) AND (ends_at IS NULL OR ends_at > $3))`,
		user, s.skus.Subscription, now).Scan(&premium)
	if err != nil {
		return Perks{}, fmt.Errorf("premium perks: %w", err)
	}
	return s.cat.PerksFor(premium), nil
}

// perks returns the perks of user at the transaction's time.
func (t *txn) perks(ctx context.Context, user int64) (Perks, error) {
	return t.s.perksAt(ctx, t, user, t.now)
}

// companionLimit is how many companions user may own now.
func (t *txn) companionLimit(ctx context.Context, user int64) (int, error) {
	p, err := t.perks(ctx, user)
	if err != nil {
		return 0, err
	}
	return p.MaxCompanions(), nil
}

// roomForCompanion refuses, with ErrCompanionLimit saying so before doing
// what, when user's companions and eggs fill their cap (premium aware).
func (t *txn) roomForCompanion(ctx context.Context, user int64, doing string) error {
	n, err := t.countCompanions(ctx, user)
	if err != nil {
		return err
	}
	limit, err := t.companionLimit(ctx, user)
	if err != nil {
		return err
	}
	if n >= limit {
		return ErrCompanionLimit.Withf("You own %d companions and eggs, the most allowed; release one before %s.", n, doing)
	}
	return nil
}

// ErrPremiumOnly refuses what only premium members may do.
var ErrPremiumOnly = refusal.New("premium_only", "That is for premium members; see /premium.")

// Perks returns user's perks now.
func (s *Service) Perks(ctx context.Context, user int64) (Perks, error) {
	if user <= 0 {
		return Perks{}, ErrBadUser
	}
	return s.perksAt(ctx, s.pool, user, s.now())
}

// PremiumSKUs returns the SKUs the service sells.
func (s *Service) PremiumSKUs() PremiumSKUs { return s.skus }

// RecordEntitlements stores entitlements as Discord reported them. Reports
// may come twice and out of order (an interaction and an event, a replay
// after a RESUME): deletion and consumption are final, and a known start
// or end date is kept when a report has none. Entitlements to SKUs the
// game does not sell are ignored.
func (s *Service) RecordEntitlements(ctx context.Context, ents []Entitlement) error {
	now := s.now()
	for _, e := range ents {
		if s.skus.Role(e.SKUID) == "" {
			continue
		}
		if e.ID <= 0 || (e.UserID <= 0 && e.GuildID <= 0) {
			return fmt.Errorf("record entitlement %d: %w", e.ID, ErrBadUser)
		}
		_, err := s.pool.Exec(ctx, `INSERT INTO economy.entitlements
			(id, sku_id, user_id, guild_id, type, starts_at, ends_at, deleted, consumed, updated_at)
			VALUES ($1, $2, NULLIF($3::bigint, 0), NULLIF($4::bigint, 0), $5, $6, $7, $8, $9, $10)
			ON CONFLICT (id) DO UPDATE SET
				type = EXCLUDED.type,
				starts_at = COALESCE(EXCLUDED.starts_at, entitlements.starts_at),
				ends_at = COALESCE(EXCLUDED.ends_at, entitlements.ends_at),
				deleted = entitlements.deleted OR EXCLUDED.deleted,
				consumed = CASE WHEN entitlements.consumed THEN true ELSE EXCLUDED.consumed END,
				updated_at = EXCLUDED.updated_at`,
			e.ID, e.SKUID, e.UserID, e.GuildID, e.Type, e.StartsAt, e.EndsAt, e.Deleted, e.Consumed, now)
		if err != nil {
			return fmt.Errorf("record entitlement %d: %w", e.ID, err)
		}
	}
	return nil
}

// Grant is what a one-time purchase gave.
type Grant struct {
	Entitlement int64    `json:"entitlement"`
	Role        string   `json:"role"`  // SKURolePack or SKURoleBoost
	Items       []string `json:"items"` // item keys given, one per item
}

// ErrNotGrantable refuses to grant an entitlement that is not an active
// one-time purchase of a user.
var ErrNotGrantable = errors.New("economy: not an active one-time purchase of a user")

// GrantPurchase gives user what the one-time purchase e pays for (the
// cosmetic pack, or a boost) in one transaction keyed by the entitlement,
// so that however often e is reported, it is given once. It returns the
// grant, the first one's on a replay.
func (s *Service) GrantPurchase(ctx context.Context, e Entitlement) (Grant, error) {
	role := s.skus.Role(e.SKUID)
	if (role != SKURolePack && role != SKURoleBoost) || e.UserID <= 0 || e.Deleted {
		return Grant{}, ErrNotGrantable
	}
	var g Grant
	op := Op("entitlement:" + strconv.FormatInt(e.ID, 10))
	_, err := s.mutate(ctx, "premium_grant", op, e.UserID, &g, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, e.UserID); err != nil {
			return nil, err
		}
		g := Grant{Entitlement: e.ID, Role: role}
		if role == SKURolePack {
			g.Items = append(g.Items, s.cat.Premium.Pack...)
		} else {
			for range s.cat.Premium.Boost.Quantity {
				g.Items = append(g.Items, s.cat.Premium.Boost.Item)
			}
		}
		for _, k := range g.Items {
			if err := t.giveItem(ctx, e.UserID, k, "premium"); err != nil {
				return nil, err
			}
		}
		tag, err := t.Exec(ctx, `UPDATE economy.entitlements SET granted_at = $2 WHERE id = $1`, e.ID, t.now)
		if err != nil {
			return nil, fmt.Errorf("premium grant: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return nil, fmt.Errorf("premium grant: entitlement %d is not on record", e.ID)
		}
		t.memo = role
		return g, nil
	})
	return g, err
}

// ConsumeClaimTTL is how long a claim to consume an entitlement holds: a
// node that claimed and died is replaced after it.
const ConsumeClaimTTL = time.Minute

// ClaimConsume reports whether the caller is the one that must consume
// the granted consumable entitlement id through Discord's API: exactly one
// caller, across the cluster, is told yes until ReleaseConsume or, should
// it never finish, for ConsumeClaimTTL.
func (s *Service) ClaimConsume(ctx context.Context, id int64) (bool, error) {
	var won bool
	now := s.now()
	err := s.pool.QueryRow(ctx, `UPDATE economy.entitlements SET consume_claimed_at = $2
		WHERE id = $1 AND granted_at IS NOT NULL AND consumed IS false
		AND (consume_claimed_at IS NULL OR consume_claimed_at < $3)
		RETURNING true`, id, now, now.Add(-ConsumeClaimTTL)).Scan(&won)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim consume %d: %w", id, err)
	}
	return won, nil
}

// MarkConsumed records that Discord consumed entitlement id.
func (s *Service) MarkConsumed(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE economy.entitlements SET consumed = true, consumed_at = $2 WHERE id = $1`, id, s.now()); err != nil {
		return fmt.Errorf("mark consumed %d: %w", id, err)
	}
	return nil
}

// ReleaseConsume gives up a claim whose consume call failed, so that the
// next report of the entitlement tries again.
func (s *Service) ReleaseConsume(ctx context.Context, id int64) error {
	if _, err := s.pool.Exec(ctx, `UPDATE economy.entitlements SET consume_claimed_at = NULL WHERE id = $1 AND consumed IS false`, id); err != nil {
		return fmt.Errorf("release consume %d: %w", id, err)
	}
	return nil
}

// PremiumStatus is what /premium and the dashboard show.
type PremiumStatus struct {
	Perks Perks `json:"perks"`
	// Since and Until bound the current subscription entitlement; Until is
	// nil while it runs with no end in sight.
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// Pack is true once the cosmetic pack was bought.
	Pack bool `json:"pack"`
	// Boosts is how many boosts were bought and given.
	Boosts int `json:"boosts"`
}

// Premium returns user's premium status now.
func (s *Service) Premium(ctx context.Context, user int64) (PremiumStatus, error) {
	if user <= 0 {
		return PremiumStatus{}, ErrBadUser
	}
	now := s.now()
	p, err := s.perksAt(ctx, s.pool, user, now)
	if err != nil {
		return PremiumStatus{}, err
	}
	st := PremiumStatus{Perks: p}
	if p.Premium {
		err := s.pool.QueryRow(ctx, `SELECT starts_at, ends_at FROM economy.entitlements
			WHERE user_id = $1 AND sku_id = $2 AND NOT deleted
			AND (starts_at IS NULL OR starts_at <= $3) AND (ends_at IS NULL OR ends_at > $3)
			ORDER BY id DESC LIMIT 1`, user, s.skus.Subscription, now).Scan(&st.Since, &st.Until)
		if err != nil {
			return PremiumStatus{}, fmt.Errorf("premium status: %w", err)
		}
	}
	err = s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE sku_id = $2 AND granted_at IS NOT NULL) > 0,
			count(*) FILTER (WHERE sku_id = $3 AND granted_at IS NOT NULL)
		FROM economy.entitlements WHERE user_id = $1`, user, s.skus.Pack, s.skus.Boost).Scan(&st.Pack, &st.Boosts)
	if err != nil {
		return PremiumStatus{}, fmt.Errorf("premium status: %w", err)
	}
	return st, nil
}
