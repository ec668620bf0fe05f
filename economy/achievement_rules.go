package economy

import (
	"fmt"
	"strings"
)

// Achievements as data and pure rules (see rules.go): Progress is what a
// player has done, read in one transaction; an achievement is earned when
// its metric reaches its goal.

// AchievementsVersion numbers the catalogue: a backfill runs once per
// version, so raise it when achievements are added.
const AchievementsVersion = 2

// Metrics an achievement can measure.
const (
	MetricStreak      = "streak"       // daily streak
	MetricNetWorth    = "net_worth"    // wallet + bank
	MetricDistinct    = "distinct"     // distinct collectibles found
	MetricFinds       = "finds"        // collectibles found in all
	MetricMythic      = "mythic"       // distinct mythic collectibles found
	MetricTierMissing = "tier_missing" // collectibles of Tier not yet found (goal 0)
	MetricSales       = "sales"        // market sales as the seller
	MetricPurchases   = "purchases"    // market purchases
	MetricTrades      = "trades"       // completed trades
	MetricShifts      = "shifts"       // work shifts
	MetricVaulted     = "vaulted"      // items on show in the vault
	MetricCompanions  = "companions"   // companions owned
	MetricCompLevel   = "comp_level"   // the best level of a companion owned
	MetricMythicBred  = "mythic_bred"  // mythic companions owned that were bred
	MetricBattleWins  = "battle_wins"  // companion battles won
)

// Achievement is one entry of the catalogue.
type Achievement struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Hidden      bool   `json:"hidden,omitempty"` // shown as ??? until earned
	Reward      int64  `json:"reward"`           // credits from the Mint
	Metric      string `json:"metric"`
	Goal        int64  `json:"goal"`
	Tier        string `json:"tier,omitempty"` // the rarity of MetricTierMissing
	// Title is the title earning it gives the player, shown on /balance;
	// "" for none.
	Title string `json:"title,omitempty"`
}

// Progress is what a player has done, as the metrics measure it.
type Progress struct {
	Values  map[string]int64 // by metric
	Missing map[string]int64 // collectibles not yet found, by rarity
}

// Value returns the progress of a toward its goal.
func (p Progress) value(a Achievement) int64 {
	if a.Metric == MetricTierMissing {
		return p.Missing[a.Tier]
	}
	return p.Values[a.Metric]
}

// Reached reports whether p earns a.
func (p Progress) Reached(a Achievement) bool {
	if a.Metric == MetricTierMissing {
		m, ok := p.Missing[a.Tier]
		return ok && m == 0
	}
	return p.value(a) >= a.Goal
}

// Describe is the progress of a as a user reads it, such as "3 / 7".
func (p Progress) Describe(a Achievement) string {
	if a.Metric == MetricTierMissing {
		return fmt.Sprintf("%d left to find", p.Missing[a.Tier])
	}
	return fmt.Sprintf("%d / %d", min(p.value(a), a.Goal), a.Goal)
}

// newlyEarned lists the achievements of cat that p reaches and that are
// not in have, in catalogue order.
func newlyEarned(cat []Achievement, p Progress, have map[string]bool) []Achievement {
	var out []Achievement
	for _, a := range cat {
		if !have[a.Key] && p.Reached(a) {
			out = append(out, a)
		}
	}
	return out
}

// achievementCatalog is the catalogue; tier completions come from the
// game's rarities.
func achievementCatalog(rarities []Rarity) []Achievement {
	list := []Achievement{
		{Key: "first_daily", Name: "Good Morning", Description: "Claim your first daily.", Reward: 100, Metric: MetricStreak, Goal: 1},
		{Key: "streak_7", Name: "Creature of Habit", Description: "Reach a 7-day daily streak.", Reward: 1000, Metric: MetricStreak, Goal: 7},
		{Key: "streak_30", Name: "Devoted", Description: "Reach a 30-day daily streak.", Reward: 5000, Metric: MetricStreak, Goal: 30, Title: "the Devoted"},
		{Key: "streak_100", Name: "Unbreakable", Description: "Reach a 100-day daily streak.", Hidden: true, Reward: 25000, Metric: MetricStreak, Goal: 100, Title: "the Unbreakable"},
		{Key: "worth_10k", Name: "Pocket Money", Description: "Hold 10,000 credits (wallet and bank).", Reward: 500, Metric: MetricNetWorth, Goal: 10_000},
		{Key: "worth_100k", Name: "Comfortable", Description: "Hold 100,000 credits.", Reward: 2000, Metric: MetricNetWorth, Goal: 100_000},
		{Key: "worth_1m", Name: "Millionaire", Description: "Hold 1,000,000 credits.", Reward: 10000, Metric: MetricNetWorth, Goal: 1_000_000, Title: "Millionaire"},
		{Key: "worth_100m", Name: "Tycoon", Description: "Hold 100,000,000 credits.", Hidden: true, Reward: 50000, Metric: MetricNetWorth, Goal: 100_000_000, Title: "Tycoon"},
		{Key: "first_find", Name: "Finders Keepers", Description: "Find your first collectible.", Reward: 100, Metric: MetricDistinct, Goal: 1},
		{Key: "distinct_10", Name: "Curator", Description: "Find 10 different collectibles.", Reward: 1000, Metric: MetricDistinct, Goal: 10},
		{Key: "distinct_20", Name: "Archivist", Description: "Find 20 different collectibles.", Reward: 4000, Metric: MetricDistinct, Goal: 20, Title: "the Archivist"},
		{Key: "finds_10", Name: "Rummager", Description: "Find 10 collectibles.", Reward: 200, Metric: MetricFinds, Goal: 10},
		{Key: "finds_100", Name: "Prospector", Description: "Find 100 collectibles.", Reward: 2000, Metric: MetricFinds, Goal: 100},
		{Key: "finds_1000", Name: "Excavator", Description: "Find 1,000 collectibles.", Reward: 15000, Metric: MetricFinds, Goal: 1000, Title: "the Excavator"},
		{Key: "mythic_find", Name: "Touched by Myth", Description: "Find a mythic collectible.", Hidden: true, Reward: 10000, Metric: MetricMythic, Goal: 1, Title: "Touched by Myth"},
		{Key: "first_sale", Name: "Open for Business", Description: "Sell something on the market.", Reward: 200, Metric: MetricSales, Goal: 1},
		{Key: "sales_10", Name: "Merchant", Description: "Make 10 market sales.", Reward: 1000, Metric: MetricSales, Goal: 10},
		{Key: "sales_100", Name: "Market Maker", Description: "Make 100 market sales.", Reward: 10000, Metric: MetricSales, Goal: 100, Title: "Market Maker"},
		{Key: "first_purchase", Name: "Window Shopper No More", Description: "Buy something on the market.", Reward: 200, Metric: MetricPurchases, Goal: 1},
		{Key: "purchases_25", Name: "Collector's Habit", Description: "Make 25 market purchases.", Reward: 2000, Metric: MetricPurchases, Goal: 25, Title: "the Collector"},
		{Key: "first_trade", Name: "Fair Exchange", Description: "Complete a trade.", Reward: 200, Metric: MetricTrades, Goal: 1},
		{Key: "trades_10", Name: "Dealmaker", Description: "Complete 10 trades.", Reward: 1500, Metric: MetricTrades, Goal: 10},
		{Key: "trades_100", Name: "Silver Tongue", Description: "Complete 100 trades.", Hidden: true, Reward: 15000, Metric: MetricTrades, Goal: 100, Title: "Silver Tongue"},
		{Key: "first_shift", Name: "Clocked In", Description: "Work your first shift.", Reward: 100, Metric: MetricShifts, Goal: 1},
		{Key: "shifts_50", Name: "Workhorse", Description: "Work 50 shifts.", Reward: 2500, Metric: MetricShifts, Goal: 50},
		{Key: "shifts_500", Name: "Overtime", Description: "Work 500 shifts.", Hidden: true, Reward: 20000, Metric: MetricShifts, Goal: 500, Title: "the Tireless"},
		{Key: "first_vault", Name: "On Display", Description: "Put a find in your vault.", Reward: 300, Metric: MetricVaulted, Goal: 1},
		{Key: "first_companion", Name: "A Friend Indeed", Description: "Own a companion.", Reward: 300, Metric: MetricCompanions, Goal: 1},
		{Key: "companion_level_20", Name: "Seasoned Trainer", Description: "Raise a companion to level 20.", Reward: 5000, Metric: MetricCompLevel, Goal: 20, Title: "the Trainer"},
		{Key: "mythic_bred", Name: "Myth Maker", Description: "Breed a mythic companion.", Hidden: true, Reward: 25000, Metric: MetricMythicBred, Goal: 1, Title: "Myth Maker"},
		{Key: "first_battle_win", Name: "First Blood", Description: "Win a companion battle.", Reward: 300, Metric: MetricBattleWins, Goal: 1},
		{Key: "battle_wins_10", Name: "Gladiator", Description: "Win 10 companion battles.", Reward: 3000, Metric: MetricBattleWins, Goal: 10, Title: "the Gladiator"},
	}
	for i, r := range rarities {
		list = append(list, Achievement{Key: "tier_" + r.Key, Name: "Complete: " + r.Key,
			Description: fmt.Sprintf("Find every %s collectible.", r.Key), Hidden: r.Key == "mythic",
			Reward: 1000 * rarityWeight(i), Metric: MetricTierMissing, Tier: r.Key,
			Title: completionist(r.Key)})
	}
	return list
}

// bestTitle is the title a player with the achievements have shows: that
// of their earned achievement with the largest reward (the later one in
// the catalogue on a tie); "" when none of theirs gives a title.
func bestTitle(cat []Achievement, have map[string]bool) string {
	title, best := "", int64(-1)
	for _, a := range cat {
		if a.Title != "" && have[a.Key] && a.Reward >= best {
			title, best = a.Title, a.Reward
		}
	}
	return title
}

// completionist is the title of completing the rarity tier key.
func completionist(key string) string {
	if key == "" {
		return "Completionist"
	}
	return strings.ToUpper(key[:1]) + key[1:] + " Completionist"
}
