package commands

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// tradeWindow is the prefix of the trade window's buttons and select. The
// custom ID is trade::<trade>:<version>:<action>[:<arg>]: its operation
// field is empty, so each press is its own operation (the interaction),
// and the version makes a press on an outdated window a refusal.
const tradeWindow = "trade"

// tradeMenuSize is the most options of the item menu on one page
// (Discord's limit for a select).
const tradeMenuSize = 25

// tradeCreditSteps are the window's add-credits buttons.
var tradeCreditSteps = []int64{100, 1000, 10000}

// tradeHelp is /help trade's note.
const tradeHelp = "Both players edit one trade window: pick items from the menu (one per pick; the Items buttons " +
	"page through it when you have more than fit) and add credits " +
	"with the buttons; only your own items and credits go on your side. Any change clears both confirmations, " +
	"and the swap happens when both confirmed the same version of the offer. The window closes after 5 minutes. " +
	"Items in your vault or listed on the market cannot be traded." + tradeCompanionHelp

// Trade returns /trade. Register TradeComponents too.
func Trade(svc *economy.Service) []*Command {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Command{{Name: "trade", Description: "Trade items and credits with another player",
		Options: []Option{{Name: "user", Description: "Who to trade with", Type: User, Required: true}},
		Run:     e.tradeOpen, Writes: true}}
}

// TradeComponents returns the trade window's buttons and item menu.
func TradeComponents(svc *economy.Service) []*Component {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{{Prefix: tradeWindow, Run: e.tradePress, Writes: true}}
}

func (e *econ) tradeOpen(ctx context.Context, inv *Invocation) (Reply, error) {
	with, _ := inv.UserOption("user")
	if with.Bot {
		return Reply{}, Explain(economy.ErrBotRecipient, "Bots do not trade.")
	}
	tr, err := e.svc.TradeOpen(ctx, op(inv), userID(inv.User), userID(with))
	if err != nil {
		return Reply{}, fail(err)
	}
	return e.tradeReply(ctx, tr, "", 0)
}

func (e *econ) tradePress(ctx context.Context, inv *Invocation) (Reply, error) {
	// Args: "", trade, version, action[, arg].
	if len(inv.Args) < 4 || inv.Args[0] != "" {
		return Reply{}, Errorf("That button has expired.")
	}
	id, err1 := strconv.ParseInt(inv.Args[1], 10, 64)
	version, err2 := strconv.Atoi(inv.Args[2])
	if err1 != nil || err2 != nil {
		return Reply{}, Errorf("That button has expired.")
	}
	user := userID(inv.User)
	var tr economy.Trade
	var err error
	note, menuPage := "", 0
	switch action := inv.Args[3]; {
	case action == "confirm" && len(inv.Args) == 4:
		tr, err = e.svc.TradeConfirm(ctx, op(inv), user, id, version)
		if err == nil && tr.State == "open" {
			note = fmt.Sprintf("%s confirmed.", inv.User.ID.Mention())
		}
	case action == "cancel" && len(inv.Args) == 4:
		tr, err = e.svc.TradeCancel(ctx, op(inv), user, id)
	case action == "clear" && len(inv.Args) == 4:
		tr, err = e.svc.TradeEdit(ctx, op(inv), user, id, version, economy.TradeChange{Clear: true})
	case action == "credits" && len(inv.Args) == 5:
		n, perr := strconv.ParseInt(inv.Args[4], 10, 64)
		if perr != nil || n <= 0 {
			return Reply{}, Errorf("That button has expired.")
		}
		tr, err = e.svc.TradeEdit(ctx, op(inv), user, id, version, economy.TradeChange{Credits: n})
	case action == "items" && len(inv.Args) == 5:
		// Another page of the item menu: the window as it stands now.
		if menuPage, err = strconv.Atoi(inv.Args[4]); err != nil || menuPage < 0 {
			return Reply{}, Errorf("That button has expired.")
		}
		if tr, err = e.svc.Trade(ctx, id); err == nil && user != tr.A && user != tr.B {
			err = economy.ErrNotInTrade
		}
	case action == "add" && (len(inv.Args) == 4 || len(inv.Args) == 5):
		if len(inv.Args) == 5 {
			if menuPage, err = strconv.Atoi(inv.Args[4]); err != nil || menuPage < 0 {
				return Reply{}, Errorf("That button has expired.")
			}
		}
		if len(inv.Values) != 1 {
			return Reply{}, Errorf("Pick one item to add.")
		}
		owner, key, ok := strings.Cut(inv.Values[0], ":")
		if !ok || owner != strconv.FormatInt(user, 10) {
			return Reply{}, Errorf("Pick one of your own items: the other side adds theirs.")
		}
		change := economy.TradeChange{Item: key, Qty: 1}
		if c, ok := companionPick(key); ok {
			change = c
		}
		tr, err = e.svc.TradeEdit(ctx, op(inv), user, id, version, change)
	default:
		return Reply{}, Errorf("That button has expired.")
	}
	if err != nil {
		return Reply{}, fail(err)
	}
	return e.tradeReply(ctx, tr, note, menuPage)
}

// tradeReply renders the window: both offers, who confirmed, and while it
// is open the controls, each carrying the version shown, with page
// menuPage of the item menu.
func (e *econ) tradeReply(ctx context.Context, tr economy.Trade, note string, menuPage int) (Reply, error) {
	open := tr.State == "open" && !tr.Expired(time.Now())
	var comps discord.ContainerComponents
	if open {
		var err error
		if comps, err = e.tradeControls(ctx, tr, menuPage); err != nil {
			return Reply{}, err
		}
	}
	names := [2]string{fmt.Sprintf("<@%d>", tr.A), fmt.Sprintf("<@%d>", tr.B)}
	var fields []discord.EmbedField
	for side, o := range tr.Offers {
		mark := "⬜"
		if tr.Confirmed[side] == tr.Version {
			mark = "✅"
		}
		fields = append(fields, field(fmt.Sprintf("%s %s gives", mark, []string{"Opener", "Partner"}[side]),
			names[side]+"\n"+e.offerText(o), true))
	}
	title, color := fmt.Sprintf("Trade #%d", tr.ID), colorEconomy
	desc := fmt.Sprintf("%s ⇄ %s · version %d · closes %s", names[0], names[1], tr.Version, ts(tr.ExpiresAt, "R"))
	switch {
	case tr.State == "done":
		title, color, desc = title+": complete", colorGain, fmt.Sprintf("%s and %s swapped:", names[0], names[1])
	case tr.State == "cancelled":
		title, desc = title+": cancelled", "Nothing moved."
	case tr.Expired(time.Now()):
		title, desc = title+": expired", "Nothing moved. Open a new one with /trade."
	}
	if note != "" {
		desc += "\n" + note
	}
	r := embed(title, desc, color, fields...)
	if open {
		r.Components = comps
	} else {
		r.Components = discord.ContainerComponents{}
	}
	return r, nil
}

// offerText is an offer as the window shows it, with the wear of offered
// tools the swap guarantees (economy.Offer.Worn).
func (e *econ) offerText(o economy.Offer) string {
	var lines []string
	keys := make([]string, 0, len(o.Items))
	for k := range o.Items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if it, ok := e.cat.Item(k); ok {
			name = it.Name
		}
		lines = append(lines, fmt.Sprintf("%d× **%s**%s", o.Items[k], name, wornNote(o.Worn[k])))
	}
	lines = append(lines, e.offeredCompanions(o)...)
	if o.Credits > 0 {
		lines = append(lines, "**"+credits(o.Credits)+"**")
	}
	if len(lines) == 0 {
		return "nothing yet"
	}
	return strings.Join(lines, "\n")
}

// tradeControls are the open window's item menu (both players' tradeable
// items, a page of tradeMenuSize at a time, with buttons to page through
// them when there are more) and buttons.
func (e *econ) tradeControls(ctx context.Context, tr economy.Trade, menuPage int) (discord.ContainerComponents, error) {
	id := func(action string) discord.ComponentID {
		return discord.ComponentID(fmt.Sprintf("%s::%d:%d:%s", tradeWindow, tr.ID, tr.Version, action))
	}
	var options []discord.SelectOption
	for side, user := range []int64{tr.A, tr.B} {
		for page, pages := 0, 1; page < pages; page++ {
			p, err := e.svc.Inventory(ctx, user, page)
			if err != nil {
				return nil, fail(err)
			}
			pages = p.Pages
			for _, st := range p.Rows {
				free := st.Count - st.Vaulted - tr.Offers[side].Items[st.Item]
				if free <= 0 {
					continue
				}
				options = append(options, discord.SelectOption{
					Label:       fmt.Sprintf("%s: %s", []string{"Opener", "Partner"}[side], st.Name),
					Value:       fmt.Sprintf("%d:%s", user, st.Item),
					Description: fmt.Sprintf("%d more can be offered", free),
				})
			}
		}
		more, err := e.companionOptions(ctx, []string{"Opener", "Partner"}[side], user, tr.Offers[side])
		if err != nil {
			return nil, err
		}
		options = append(options, more...)
	}
	var comps discord.ContainerComponents
	shown, menuPage, menuPages := tradeMenuPage(options, menuPage)
	if len(shown) > 0 {
		placeholder := "Add one of your items"
		if menuPages > 1 {
			placeholder += fmt.Sprintf(" (%d of %d)", menuPage+1, menuPages)
		}
		comps = append(comps, &discord.ActionRowComponent{&discord.StringSelectComponent{
			CustomID: id(fmt.Sprintf("add:%d", menuPage)), Placeholder: placeholder, Options: shown,
		}})
	}
	if menuPages > 1 {
		comps = append(comps, &discord.ActionRowComponent{
			&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "◀ Items",
				CustomID: id(fmt.Sprintf("items:%d", (menuPage+menuPages-1)%menuPages))},
			&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "Items ▶",
				CustomID: id(fmt.Sprintf("items:%d", (menuPage+1)%menuPages))},
		})
	}
	var credit discord.ActionRowComponent
	for _, n := range tradeCreditSteps {
		credit = append(credit, &discord.ButtonComponent{Style: discord.SecondaryButtonStyle(),
			Label: "+" + strings.TrimSuffix(credits(n), " credits") + " credits", CustomID: id(fmt.Sprintf("credits:%d", n))})
	}
	credit = append(credit, &discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "Clear my offer", CustomID: id("clear")})
	comps = append(comps, &credit, &discord.ActionRowComponent{
		&discord.ButtonComponent{Style: discord.SuccessButtonStyle(), Label: "Confirm", CustomID: id("confirm")},
		&discord.ButtonComponent{Style: discord.DangerButtonStyle(), Label: "Cancel", CustomID: id("cancel")},
	})
	return comps, nil
}

// tradeMenuPage is page (clamped to the last) of the menu's options, with
// the page shown and the number of pages.
func tradeMenuPage(options []discord.SelectOption, page int) (shown []discord.SelectOption, at, pages int) {
	pages = max(1, (len(options)+tradeMenuSize-1)/tradeMenuSize)
	at = min(max(page, 0), pages-1)
	return options[at*tradeMenuSize : min(len(options), (at+1)*tradeMenuSize)], at, pages
}
