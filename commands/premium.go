package commands

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// /premium: the user's premium status and perks, and the premium button
// (a button of style 6 carrying the SKU, components-reference.mdx) when
// they have none. Perks come from entitlements (PremiumSync keeps them).

// Premium returns /premium.
func Premium(svc *economy.Service) []*Command {
	return []*Command{{
		Name:        "premium",
		Description: "Your premium status and perks, and how to get them",
		Ephemeral:   true,
		Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			st, err := svc.Premium(ctx, userID(inv.User))
			if err != nil {
				return Reply{}, fail(err)
			}
			return premiumReply(svc.Catalog(), svc.PremiumSKUs(), st), nil
		},
	}}
}

// premiumField marks a reply whose numbers include premium perks.
var premiumField = field("Premium", "✨ active: perks included (`/premium`)", true)

// premiumReply shows st: the perks (active or on offer), what was bought,
// and the premium buttons for what the user can still buy.
func premiumReply(cat *economy.Catalog, skus economy.PremiumSKUs, st economy.PremiumStatus) Reply {
	var desc string
	switch {
	case st.Perks.Premium && st.Until != nil:
		desc = "Premium is **active** until " + ts(*st.Until, "f") + "."
	case st.Perks.Premium:
		desc = "Premium is **active**."
		if st.Since != nil {
			desc = "Premium is **active** since " + ts(*st.Since, "D") + "."
		}
	case skus.Subscription == 0:
		desc = "Premium is not sold here."
	default:
		desc = "You do not have premium. It gives:"
	}
	r := embed("Premium", desc, colorEconomy,
		field("Perks", premiumPerks(cat), false),
		field("Cosmetic pack", map[bool]string{true: "Yours", false: "Not bought"}[st.Pack], true),
		field("Boosts bought", strconv.Itoa(st.Boosts), true),
	)
	var row discord.ActionRowComponent
	if !st.Perks.Premium && skus.Subscription != 0 {
		row = append(row, &premiumButton{SKU: skus.Subscription})
	}
	if !st.Pack && skus.Pack != 0 {
		row = append(row, &premiumButton{SKU: skus.Pack})
	}
	if skus.Boost != 0 {
		row = append(row, &premiumButton{SKU: skus.Boost})
	}
	if len(row) > 0 {
		r.Components = discord.ContainerComponents{&row}
	}
	return r
}

// premiumPerks lists the perks from the catalogue's premium section.
func premiumPerks(cat *economy.Catalog) string {
	p := cat.Premium
	var cos []string
	for _, k := range p.Cosmetics {
		if it, ok := cat.Item(k); ok {
			cos = append(cos, it.Name)
		}
	}
	lines := []string{
		fmt.Sprintf("+%d%% on `/daily`", p.DailyBonusPercent),
		fmt.Sprintf("Bank capacity ×%d", p.BankCapacityMultiplier),
		fmt.Sprintf("%d vault slots (instead of %d)", p.VaultCapacity, cat.VaultCapacity),
		fmt.Sprintf("%d companions (instead of %d)", p.MaxCompanions, cat.Companions.MaxOwned),
		fmt.Sprintf("`/work` cooldowns %d%% as long", p.WorkCooldownPercent),
	}
	if len(cos) > 0 {
		lines = append(lines, "Premium-only cosmetics: "+strings.Join(cos, ", "))
	}
	return "• " + strings.Join(lines, "\n• ")
}

// premiumButton is a premium button: style 6 with the SKU, and none of
// custom_id, label, url or emoji, which Discord refuses on it (it shows the
// SKU's name and price itself). The embedded ButtonComponent only makes it
// a component for arikawa; it is never sent.
type premiumButton struct {
	discord.ButtonComponent
	SKU int64
}

// MarshalJSON sends the button as Discord documents it.
func (b *premiumButton) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"type": int(discord.ButtonComponentType), "style": 6, "sku_id": strconv.FormatInt(b.SKU, 10)})
}
