package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// tradeCompanionHelp is /help trade's note on companions.
const tradeCompanionHelp = " Companions are in the same menu: pick one to offer it, pick it again to take it back. " +
	"One in a battle, breeding, in stasis or listed on the market cannot be offered, and the receiver needs free companion slots."

// The trade menu's companion values, after "<user>:": offer or take back
// the companion with the ID that follows.
const (
	pickOfferCompanion = "c+"
	pickTakeCompanion  = "c-"
)

// companionPick decodes a trade menu value naming a companion into the
// change it asks for.
func companionPick(key string) (economy.TradeChange, bool) {
	qty := 1
	rest, ok := strings.CutPrefix(key, pickOfferCompanion)
	if !ok {
		if rest, ok = strings.CutPrefix(key, pickTakeCompanion); !ok {
			return economy.TradeChange{}, false
		}
		qty = -1
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return economy.TradeChange{}, false
	}
	return economy.TradeChange{Companion: id, Qty: qty}, true
}

// companionOptions are the trade menu's entries for user's companions:
// the offered ones to take back, the free ones to offer (busy ones are left
// out: the trade would refuse them).
func (e *econ) companionOptions(ctx context.Context, side string, user int64, o economy.Offer) ([]discord.SelectOption, error) {
	offered := map[int64]bool{}
	for _, c := range o.Companions {
		offered[c.ID] = true
	}
	all, err := e.svc.Companions(ctx, user)
	if err != nil {
		return nil, fail(err)
	}
	var out []discord.SelectOption
	for _, c := range all {
		opt := discord.SelectOption{Label: fmt.Sprintf("%s: 🤖 %s (level %d)", side, c.Name, c.Level)}
		switch {
		case offered[c.ID]:
			opt.Value, opt.Description = fmt.Sprintf("%d:%s%d", user, pickTakeCompanion, c.ID), "Offered: pick to take it back"
		case c.Stasis || c.BattleID != 0 || c.Breeding:
			continue
		default:
			opt.Value, opt.Description = fmt.Sprintf("%d:%s%d", user, pickOfferCompanion, c.ID), "Companion: pick to offer it"
		}
		out = append(out, opt)
	}
	return out, nil
}

// offeredCompanions are an offer's companions as the window shows them.
func (e *econ) offeredCompanions(o economy.Offer) []string {
	var lines []string
	for _, c := range o.Companions {
		model := c.Model
		if m, ok := e.cat.Model(c.Model); ok {
			model = m.Name
		}
		lines = append(lines, fmt.Sprintf("🤖 **%s** (%s, level %d)", c.Name, model, c.Level))
	}
	return lines
}
