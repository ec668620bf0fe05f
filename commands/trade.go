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

// tradeCreditSteps are the window's add-credits buttons.
var tradeCreditSteps = []int64{100, 1000, 10000}

// tradeHelp is /help trade's note.
const tradeHelp = "Both players edit one trade window: pick items from the menu (one per pick) and add credits " +
	"with the buttons; only your own items and credits go on your side. Any change clears both confirmations, " +
	"and the swap happens when both confirmed the same version of the offer. The window closes after 5 minutes. " +
	"Items in your vault or listed on the market cannot be traded."

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
	return e.tradeReply(ctx, tr, "")
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
	note := ""
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
	case action == "add" && len(inv.Args) == 4:
		if len(inv.Values) != 1 {
			return Reply{}, Errorf("Pick one item to add.")
		}
		owner, key, ok := strings.Cut(inv.Values[0], ":")
		if !ok || owner != strconv.FormatInt(user, 10) {
			return Reply{}, Errorf("Pick one of your own items: the other side adds theirs.")
		}
		tr, err = e.svc.TradeEdit(ctx, op(inv), user, id, version, economy.TradeChange{Item: key, Qty: 1})
	default:
		return Reply{}, Errorf("That button has expired.")
	}
	if err != nil {
		return Reply{}, fail(err)
	}
	return e.tradeReply(ctx, tr, note)
}

// tradeReply renders the window: both offers, who confirmed, and while it
// is open the controls, each carrying the version shown.
func (e *econ) tradeReply(ctx context.Context, tr economy.Trade, note string) (Reply, error) {
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
	if tr.State == "open" && !tr.Expired(time.Now()) {
		comps, err := e.tradeControls(ctx, tr)
		if err != nil {
			return Reply{}, err
		}
		r.Components = comps
	} else {
		r.Components = discord.ContainerComponents{}
	}
	return r, nil
}

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
		lines = append(lines, fmt.Sprintf("%d× **%s**", o.Items[k], name))
	}
	if o.Credits > 0 {
		lines = append(lines, "**"+credits(o.Credits)+"**")
	}
	if len(lines) == 0 {
		return "nothing yet"
	}
	return strings.Join(lines, "\n")
}

// tradeControls are the open window's item menu (both players' tradeable
// items, first page of each inventory) and buttons.
func (e *econ) tradeControls(ctx context.Context, tr economy.Trade) (discord.ContainerComponents, error) {
	id := func(action string) discord.ComponentID {
		return discord.ComponentID(fmt.Sprintf("%s::%d:%d:%s", tradeWindow, tr.ID, tr.Version, action))
	}
	var options []discord.SelectOption
	for side, user := range []int64{tr.A, tr.B} {
		p, err := e.svc.Inventory(ctx, user, 0)
		if err != nil {
			return nil, fail(err)
		}
		for _, st := range p.Rows {
			free := st.Count - st.Vaulted - tr.Offers[side].Items[st.Item]
			if free <= 0 || len(options) >= 25 {
				continue
			}
			options = append(options, discord.SelectOption{
				Label:       fmt.Sprintf("%s: %s", []string{"Opener", "Partner"}[side], st.Name),
				Value:       fmt.Sprintf("%d:%s", user, st.Item),
				Description: fmt.Sprintf("%d more can be offered", free),
			})
		}
	}
	var comps discord.ContainerComponents
	if len(options) > 0 {
		comps = append(comps, &discord.ActionRowComponent{&discord.StringSelectComponent{
			CustomID: id("add"), Placeholder: "Add one of your items", Options: options,
		}})
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
