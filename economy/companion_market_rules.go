package economy

import (
	"fmt"
	"strings"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The rules of companions on the market and in trades, as pure functions
// (see rules.go); companion_market.go and trade.go apply them.

// MaxTradeCompanions bounds the companions one side of a trade offers.
const MaxTradeCompanions = 5

// Refusals of companions on the market and in trades.
var (
	ErrCompanionListed = refusal.New("companion_listed", "That companion is listed on the market; cancel the listing first.")
	ErrCompanionGone   = refusal.New("trade_companion_gone", "An offered companion is no longer free to give.")
)

// ListedCompanion is the companion a companion listing holds, as buyers
// see it.
type ListedCompanion struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Model string `json:"model"`
	Level int    `json:"level"`
}

// checkCompanionListing refuses listing companion c at price by a seller
// with open listings already: c must be idle (not in stasis, a battle or
// breeding) and the price and listing count within the market's limits.
func checkCompanionListing(c Companion, price int64, open int) error {
	if err := checkListing(1, price, open); err != nil {
		return err
	}
	return idle(c)
}

// checkCompanionRoom refuses giving incoming companions to a player who
// holds have companions (and eggs, and companions they list) out of limit.
func checkCompanionRoom(have, incoming, limit int) error {
	if incoming > 0 && have+incoming > limit {
		return ErrCompanionLimit.Withf("That would make %d companions and eggs, over the limit of %d; release one first.",
			have+incoming, limit)
	}
	return nil
}

// freeName is name, or name numbered ("Name 2", "Name 3", ...) and cut to
// 32 characters, so that it is not among taken (lower-case names).
func freeName(name string, taken map[string]bool) string {
	if !taken[strings.ToLower(name)] {
		return name
	}
	for i := 2; ; i++ {
		suffix := fmt.Sprintf(" %d", i)
		base := []rune(name)
		if len(base)+len([]rune(suffix)) > 32 {
			base = base[:32-len([]rune(suffix))]
		}
		n := strings.TrimSpace(string(base)) + suffix
		if !taken[strings.ToLower(n)] {
			return n
		}
	}
}
