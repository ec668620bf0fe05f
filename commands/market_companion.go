package commands

import (
	"context"
	"fmt"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// marketCompanionHelp is /help market's note on companions.
const marketCompanionHelp = " /market sellcompanion lists a companion the same way: it leaves you until it sells, " +
	"is cancelled or expires, cannot be in a battle, breeding or stasis when listed, and the buyer needs a free companion slot."

// sellCompanionCommand is /market sellcompanion.
func (e *econ) sellCompanionCommand() *Command {
	min1, maxPrice := 1.0, float64(economy.MaxUnitPrice)
	return &Command{Name: "sellcompanion", Description: "List a companion for sale; it waits in escrow until sold",
		Options: []Option{
			{Name: "companion", Description: "Your companion's name or #number (see /companion list)", Type: String, Required: true, MaxLength: 40},
			{Name: "price", Description: "Price in credits", Type: Integer, Required: true, Min: &min1, Max: &maxPrice}},
		Run: e.marketSellCompanion, Writes: true}
}

func (e *econ) marketSellCompanion(ctx context.Context, inv *Invocation) (Reply, error) {
	price, _ := inv.Int("price")
	l, err := e.svc.MarketSellCompanion(ctx, op(inv), userID(inv.User), inv.String("companion"), price)
	if err != nil {
		return Reply{}, fail(err)
	}
	return embed("Listed", fmt.Sprintf("Listing **#%d**: %s at %s.", l.ID, listedWhat(l), credits(l.UnitPrice)), colorEconomy,
		field("Expires", ts(l.ExpiresAt, "R"), true),
		field("You receive", credits(l.UnitPrice-economy.MarketFee(l.UnitPrice))+" after the fee", true),
	), nil
}

// listedWhat names what a listing holds: "3× **Ruby**", or a companion as
// "**Bolt** (Sparkbot, level 4)".
func listedWhat(l economy.Listing) string {
	if l.Companion != nil {
		return fmt.Sprintf("**%s** (%s, level %d)", l.Companion.Name, l.ItemName, l.Companion.Level)
	}
	return fmt.Sprintf("%d× **%s**", l.Remaining, l.ItemName)
}
