package economy

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Premium: Discord app subscriptions and one-time purchases (SKUs and
// entitlements). Every perk is defined here and in the "premium" section
// of catalog.json, and nowhere else; the transactions ask Perks what
// applies. A perk holds while the user has an active entitlement to the
// premium subscription SKU, and ends with it; nothing it gave is taken back.

// PremiumRules are the perks of the premium subscription and what the
// one-time SKUs give, from the catalogue.
type PremiumRules struct {
	// DailyBonusPercent raises the /daily reward by this percent (50: +50%).
	DailyBonusPercent int64 `json:"daily_bonus_percent"`
	// BankCapacityMultiplier multiplies the bank capacity (2: ×2).
	BankCapacityMultiplier int64 `json:"bank_capacity_multiplier"`
	// VaultCapacity is the number of vault slots (instead of the catalogue's vault_capacity).
	VaultCapacity int `json:"vault_capacity"`
	// MaxCompanions is how many companions a user may own (instead of companions.max_owned).
	MaxCompanions int `json:"max_companions"`
	// WorkCooldownPercent is the /work cooldown in percent of the job's (50: half as long).
	WorkCooldownPercent int64 `json:"work_cooldown_percent"`
	// Cosmetics are the skins and chassis only premium users may buy.
	Cosmetics []string `json:"cosmetics"`
	// Pack is what the durable cosmetic pack SKU gives, once per entitlement.
	Pack []string `json:"pack"`
	// Boost is what one consumable boost SKU gives, once per entitlement.
	Boost BoostRule `json:"boost"`
}

// BoostRule is what one purchase of the consumable boost gives.
type BoostRule struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// defined reports whether the catalogue has a premium section; without
// one, premium gives nothing.
func (r *PremiumRules) defined() bool { return r.BankCapacityMultiplier != 0 }

// validate checks the rules against the items they name.
func (r *PremiumRules) validate(c *Catalog) []error {
	if !r.defined() && len(r.Cosmetics)+len(r.Pack) == 0 && r.Boost.Item == "" {
		return nil
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("premium: "+format, args...)) }
	switch {
	case r.DailyBonusPercent < 0 || r.DailyBonusPercent > 1000:
		bad("daily_bonus_percent %d: want 0..1000", r.DailyBonusPercent)
	case r.BankCapacityMultiplier < 1:
		bad("bank_capacity_multiplier %d: want >= 1", r.BankCapacityMultiplier)
	case r.VaultCapacity < c.VaultCapacity:
		bad("vault_capacity %d is below the catalogue's %d", r.VaultCapacity, c.VaultCapacity)
	case r.MaxCompanions < c.Companions.MaxOwned:
		bad("max_companions %d is below companions.max_owned %d", r.MaxCompanions, c.Companions.MaxOwned)
	case r.WorkCooldownPercent < 1 || r.WorkCooldownPercent > 100:
		bad("work_cooldown_percent %d: want 1..100", r.WorkCooldownPercent)
	}
	for _, k := range r.Cosmetics {
		if it, ok := c.items[k]; !ok || (it.Type != TypeSkin && it.Type != TypeChassis) || it.Price <= 0 {
			bad("cosmetic %q is not a skin or chassis sold in the shop", k)
		}
	}
	for _, k := range r.Pack {
		if it, ok := c.items[k]; !ok || (it.Type != TypeSkin && it.Type != TypeChassis) {
			bad("pack item %q is not a skin or chassis", k)
		}
	}
	if _, ok := c.items[r.Boost.Item]; !ok || r.Boost.Quantity < 1 || r.Boost.Quantity > MaxQuantity {
		bad("boost: item %q, quantity %d", r.Boost.Item, r.Boost.Quantity)
	}
	return errs
}

// Perks are the perks that apply to one user at one moment: the
// catalogue's values, raised by the premium rules when Premium is set.
type Perks struct {
	Premium bool `json:"premium"`
	cat     *Catalog
}

// PerksFor returns the perks of a user who has premium or not.
func (c *Catalog) PerksFor(premium bool) Perks {
	return Perks{Premium: premium && c.Premium.defined(), cat: c}
}

// Daily raises a /daily reward by the premium bonus.
func (p Perks) Daily(reward int64) int64 {
	if !p.Premium || reward <= 0 {
		return reward
	}
	bonus := reward / 100 * p.cat.Premium.DailyBonusPercent
	bonus += reward % 100 * p.cat.Premium.DailyBonusPercent / 100
	if reward > math.MaxInt64-bonus {
		return math.MaxInt64
	}
	return reward + bonus
}

// BankCapacity is the bank capacity of an account whose stored capacity
// is stored (saturating).
func (p Perks) BankCapacity(stored int64) int64 {
	m := int64(1)
	if p.Premium {
		m = p.cat.Premium.BankCapacityMultiplier
	}
	if stored > math.MaxInt64/m {
		return math.MaxInt64
	}
	return stored * m
}

// VaultCapacity is how many items the vault holds.
func (p Perks) VaultCapacity() int {
	if p.Premium {
		return p.cat.Premium.VaultCapacity
	}
	return p.cat.VaultCapacity
}

// MaxCompanions is how many companions the user may own.
func (p Perks) MaxCompanions() int {
	if p.Premium {
		return p.cat.Premium.MaxCompanions
	}
	return p.cat.Companions.MaxOwned
}

// WorkCooldown is the cooldown after a shift of a job whose cooldown is d.
func (p Perks) WorkCooldown(d time.Duration) time.Duration {
	if !p.Premium {
		return d
	}
	return d * time.Duration(p.cat.Premium.WorkCooldownPercent) / 100
}

// CanBuy reports whether the user may buy item: premium-only cosmetics
// need premium.
func (p Perks) CanBuy(item string) bool {
	return p.Premium || !slices.Contains(p.cat.Premium.Cosmetics, item)
}

// PremiumOnly reports whether item is a premium-only cosmetic.
func (c *Catalog) PremiumOnly(item string) bool { return slices.Contains(c.Premium.Cosmetics, item) }

// Entitlement types and SKU roles (resources-entitlement.mdx, resources-sku.mdx).
const (
	// SKURoleSubscription, SKURolePack and SKURoleBoost name what an
	// entitlement's SKU is to the game (PremiumSKUs).
	SKURoleSubscription = "subscription"
	SKURolePack         = "pack"
	SKURoleBoost        = "boost"
)

// PremiumSKUs are the Discord SKU IDs of the application's premium
// offerings; a zero ID is an offering the deployment does not sell.
type PremiumSKUs struct {
	Subscription int64 // the premium app subscription (type 5)
	Pack         int64 // the durable cosmetic pack (type 2)
	Boost        int64 // the consumable boost (type 3)
}

// Role returns what sku is to the game: SKURoleSubscription, SKURolePack,
// SKURoleBoost, or "" for an SKU the game does not know.
func (k PremiumSKUs) Role(sku int64) string {
	switch {
	case sku == 0:
		return ""
	case sku == k.Subscription:
		return SKURoleSubscription
	case sku == k.Pack:
		return SKURolePack
	case sku == k.Boost:
		return SKURoleBoost
	}
	return ""
}

// Entitlement is a user's access to an SKU, as Discord reports it on
// interactions and in ENTITLEMENT_* events.
type Entitlement struct {
	ID       int64      `json:"id"`
	SKUID    int64      `json:"sku_id"`
	UserID   int64      `json:"user_id"`  // 0 for a guild's entitlement
	GuildID  int64      `json:"guild_id"` // 0 for a user's entitlement
	Type     int        `json:"type"`
	StartsAt *time.Time `json:"starts_at"`
	EndsAt   *time.Time `json:"ends_at"`
	Deleted  bool       `json:"deleted"`
	Consumed *bool      `json:"consumed"` // nil: not a consumable
}

// ActiveAt reports whether e grants access at now: not deleted, not
// consumed, started and not ended. An entitlement without dates (a test
// entitlement, or a subscription before it ends) is valid until told
// otherwise.
func (e Entitlement) ActiveAt(now time.Time) bool {
	return !e.Deleted && (e.Consumed == nil || !*e.Consumed) &&
		(e.StartsAt == nil || !e.StartsAt.After(now)) && (e.EndsAt == nil || e.EndsAt.After(now))
}
