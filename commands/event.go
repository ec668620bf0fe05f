package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// eventHelp is /help event's note.
const eventHelp = "Seasonal events run on the operator's calendar. While one runs, /work and /gather earn its " +
	"tokens (and gathers may find its collectibles), with its multipliers. Spend tokens in /event shop; " +
	"spending does not lower your rank, which counts tokens earned. When the event ends, the top of its " +
	"board and everyone past its token threshold are paid once, in credits and items."

// Events returns /event: now, shop, buy and board.
func Events(svc *economy.Service) []*Command {
	e := &econ{svc: svc, cat: svc.Catalog()}
	min1, max100 := 1.0, float64(economy.MaxQuantity)
	return []*Command{{Name: "event", Description: "The seasonal event: what runs now, its shop and its board", Subcommands: []*Command{
		{Name: "now", Description: "What runs now, the time left, your tokens and your rank", Run: e.eventNow},
		{Name: "shop", Description: "What the event's tokens buy", Run: e.eventShop},
		{Name: "buy", Description: "Spend event tokens in the event shop", Writes: true, Run: e.eventBuy, Options: []Option{
			{Name: "item", Description: "What to buy", Type: String, Required: true, MaxLength: 64, Autocomplete: e.eventBuyChoices},
			{Name: "quantity", Description: "How many (1-100, default 1)", Type: Integer, Min: &min1, Max: &max100},
		}},
		{Name: "board", Description: "The event's leaderboard", Run: e.eventBoard},
	}}}
}

// multiplier writes a percent as a factor: 150 is ×1.5.
func multiplier(percent int64) string {
	s := fmt.Sprintf("×%d.%02d", percent/100, percent%100)
	return strings.TrimSuffix(strings.TrimSuffix(s, "0"), ".0")
}

// tokens writes n of ev's tokens.
func tokens(ev *economy.Event, n int64) string {
	t := fmt.Sprintf("%d %s", n, ev.Token.Name)
	if n != 1 {
		t += "s"
	}
	if ev.Token.Emoji != "" {
		t = ev.Token.Emoji + " " + t
	}
	return t
}

func noEventReply(next *economy.Event) Reply {
	desc := "No event is running right now."
	if next != nil {
		desc += fmt.Sprintf("\nNext: **%s**, %s.", next.Name, ts(next.Start, "R"))
	}
	return embed("Seasonal events", desc, colorEconomy)
}

// lastEventNote says how the latest event ended for the player.
func (e *econ) lastEventNote(v economy.EventView) string {
	ev := v.Last
	if ev == nil {
		return ""
	}
	note := fmt.Sprintf("\n\n**%s** ended %s. ", ev.Name, ts(ev.End, "R"))
	switch r := v.LastResult; {
	case r != nil:
		reward := credits(r.Credits)
		for _, key := range r.Items {
			reward += e.rewardItem(key)
		}
		state := "on its way"
		if v.LastPaid {
			state = "paid"
		}
		note += fmt.Sprintf("You finished #%d with %s: %s, %s.", r.Rank, tokens(ev, r.Earned), reward, state)
	case v.LastPaying:
		note += "Its rewards are being paid."
	default:
		note += "You were not among its rewarded players."
	}
	return note
}

func (e *econ) eventNow(ctx context.Context, inv *Invocation) (Reply, error) {
	v, err := e.svc.EventStatus(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	ev := v.Event
	if ev == nil {
		r := noEventReply(v.Next)
		r.Embeds[0].Description += e.lastEventNote(v)
		return r, nil
	}
	rank := "not on the board yet: /work or /gather"
	if v.Rank > 0 {
		rank = fmt.Sprintf("#%d of %d", v.Rank, v.Players)
	}
	var finds []string
	for _, f := range v.Finds {
		finds = append(finds, fmt.Sprintf("%s (%s): %d", f.Name, f.Rarity, f.Found))
	}
	desc := ev.Description
	if th := ev.Rewards.Threshold; th.Tokens > 0 {
		desc += fmt.Sprintf("\nEarn %s to be rewarded when it ends.", tokens(ev, th.Tokens))
	}
	r := embed(ev.Name, desc, colorGain,
		field("Ends", fmt.Sprintf("%s (%s left)", ts(ev.End, "R"), roundLeft(v.Left)), true),
		field("Your tokens", tokens(ev, v.Tokens), true),
		field("Earned", tokens(ev, v.Earned), true),
		field("Your rank", rank, true),
		field("Work pay", multiplier(ev.WorkPercent), true),
		field("Rare finds", multiplier(ev.GatherPercent), true))
	if len(finds) > 0 {
		r.Embeds[0].Fields = append(r.Embeds[0].Fields, field("Event collection", strings.Join(finds, "\n"), false))
	}
	return r, nil
}

// roundLeft writes a duration left in days, hours or minutes.
func roundLeft(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	return "moments"
}

func (e *econ) eventShop(ctx context.Context, inv *Invocation) (Reply, error) {
	v, err := e.svc.EventStatus(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	ev := v.Event
	if ev == nil {
		return noEventReply(v.Next), nil
	}
	var b strings.Builder
	for _, o := range ev.Shop {
		fmt.Fprintf(&b, "**%s** (`%s`): %s\n", e.offerName(ev, o.Item), o.Item, tokens(ev, o.Price))
	}
	fmt.Fprintf(&b, "\nYou have %s. Buy with /event buy.", tokens(ev, v.Tokens))
	return embed(ev.Name+" shop", b.String(), colorEconomy), nil
}

// offerName is the display name of a shop line.
func (e *econ) offerName(ev *economy.Event, key string) string {
	if c, ok := ev.Collectible(key); ok {
		return c.Name + " (event collectible)"
	}
	if it, ok := e.cat.Item(key); ok {
		return it.Name
	}
	return key
}

// eventOffer resolves user text to a line of ev's shop, by key or name.
func (e *econ) eventOffer(ev *economy.Event, text string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(text))
	for _, o := range ev.Shop {
		name := strings.ToLower(strings.TrimSuffix(e.offerName(ev, o.Item), " (event collectible)"))
		if o.Item == strings.ReplaceAll(t, " ", "_") || name == t {
			return o.Item, nil
		}
	}
	return "", Explain(economy.ErrNotInEventShop, fmt.Sprintf("The %s shop does not sell %q. See /event shop.", ev.Name, text))
}

func (e *econ) eventBuy(ctx context.Context, inv *Invocation) (Reply, error) {
	ev := e.svc.ActiveEvent()
	if ev == nil {
		return Reply{}, fail(economy.ErrNoEvent)
	}
	key, err := e.eventOffer(ev, inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	p, err := e.svc.EventBuy(ctx, op(inv), userID(inv.User), key, quantity(inv))
	if err != nil {
		return Reply{}, fail(err)
	}
	where := "It is in your /inventory."
	if _, ok := ev.Collectible(p.Item); ok {
		where = "It joins your event collection (/event now)."
	}
	return embed(ev.Name+" shop", fmt.Sprintf("You bought **%d× %s** for %s. %s", p.Quantity, p.ItemName, tokens(ev, p.Cost), where),
		colorGain, field("Tokens left", tokens(ev, p.Tokens), true)), nil
}

func (e *econ) eventBuyChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	ev := e.svc.ActiveEvent()
	if ev == nil {
		return nil, nil
	}
	var cands []candidate
	for _, o := range ev.Shop {
		name := e.offerName(ev, o.Item)
		cands = append(cands, candidate{choice: Choice{Name: fmt.Sprintf("%s · %s", name, tokens(ev, o.Price)), Value: o.Item},
			texts: []string{name, o.Item}})
	}
	return rank(partial, cands), nil
}

func (e *econ) eventBoard(ctx context.Context, inv *Invocation) (Reply, error) {
	v, err := e.svc.EventStatus(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	ev := v.Event
	if ev == nil {
		return noEventReply(v.Next), nil
	}
	var b strings.Builder
	for _, s := range v.Top {
		fmt.Fprintf(&b, "**#%d** <@%d>: %s\n", s.Rank, s.User, tokens(ev, s.Earned))
	}
	if len(v.Top) == 0 {
		b.WriteString("Nobody has earned a token yet.\n")
	}
	if v.Rank > len(v.Top) {
		fmt.Fprintf(&b, "…\n**#%d** you: %s\n", v.Rank, tokens(ev, v.Earned))
	}
	var tiers []string
	for i, t := range ev.Rewards.Top {
		from := 1
		if i > 0 {
			from = ev.Rewards.Top[i-1].UpTo + 1
		}
		ranks := fmt.Sprintf("#%d", t.UpTo)
		if from < t.UpTo {
			ranks = fmt.Sprintf("#%d-%d", from, t.UpTo)
		}
		tiers = append(tiers, fmt.Sprintf("%s: %s%s", ranks, credits(t.Credits), e.rewardItem(t.Item)))
	}
	if th := ev.Rewards.Threshold; th.Tokens > 0 {
		tiers = append(tiers, fmt.Sprintf("%s earned: %s%s", tokens(ev, th.Tokens), credits(th.Credits), e.rewardItem(th.Item)))
	}
	r := embed(ev.Name+" board", b.String(), colorEconomy, field("Ends", ts(ev.End, "R"), true))
	if len(tiers) > 0 {
		r.Embeds[0].Fields = append(r.Embeds[0].Fields, field("Rewards at the end", strings.Join(tiers, "\n"), false))
	}
	return r, nil
}

func (e *econ) rewardItem(key string) string {
	if it, ok := e.cat.Item(key); ok {
		return " + " + it.Name
	}
	return ""
}

// eventNote is the line a /work or /gather reply adds for what the play
// earned in the running event.
func eventNote(g *economy.EventGain) string {
	if g == nil {
		return ""
	}
	var parts []string
	unit := g.Token
	if g.Tokens != 1 {
		unit += "s"
	}
	if g.Tokens > 0 {
		parts = append(parts, fmt.Sprintf("+%d %s (%d held)", g.Tokens, unit, g.Balance))
	}
	if g.Found != "" {
		found := fmt.Sprintf("found a **%s**", g.Found)
		if g.FoundFirst {
			found += " (new in your event collection!)"
		}
		parts = append(parts, found)
	}
	return fmt.Sprintf("\n%s %s: %s.", g.Emoji, g.EventName, strings.Join(parts, ", "))
}
