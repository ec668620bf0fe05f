package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// marketPager is the button prefix of /market browse's pages; the custom
// ID carries the owner, the target page, the sort and the item filter.
const marketPager = "mktb"

// marketHelp is /help market's note.
const marketHelp = "Listing moves the items out of your inventory into escrow at once: they cannot be used, sold " +
	"or vaulted until the listing sells, is cancelled or expires (after 7 days, when they come back to you). " +
	"A purchase pays the seller the price less a 5% market fee. Prices are per item, 1 to 1,000,000,000,000 " +
	"credits; you may have up to 20 open listings and cannot buy your own." + marketCompanionHelp

// Market returns /market: sell, sellcompanion, browse, buy, cancel, mine
// and price.
// Register MarketComponents too.
func Market(svc *economy.Service) []*Command {
	m := &econ{svc: svc, cat: svc.Catalog()}
	min1, max100, maxPrice := 1.0, float64(economy.MaxQuantity), float64(economy.MaxUnitPrice)
	item := Option{Name: "item", Description: "The item (name or key)", Type: String, Required: true, MaxLength: 64}
	listing := Option{Name: "listing", Description: "The listing number (see /market browse or /market mine)", Type: Integer, Required: true, Min: &min1}
	return []*Command{{Name: "market", Description: "Buy from and sell to other players", Subcommands: []*Command{
		{Name: "sell", Description: "List items for sale; they wait in escrow until sold",
			Options: []Option{item,
				{Name: "quantity", Description: "How many (1-100)", Type: Integer, Required: true, Min: &min1, Max: &max100},
				{Name: "price", Description: "Price per item in credits", Type: Integer, Required: true, Min: &min1, Max: &maxPrice}},
			Run: m.marketSell, Writes: true},
		m.sellCompanionCommand(),
		{Name: "browse", Description: "See the open listings",
			Options: []Option{
				{Name: "item", Description: "Only this item (name or key)", Type: String, MaxLength: 64},
				{Name: "sort", Description: "Order (default: cheapest first)", Type: String, Choices: []Choice{
					{Name: "cheapest first", Value: economy.SortCheapest},
					{Name: "priciest first", Value: economy.SortPriciest},
					{Name: "newest first", Value: economy.SortNewest}}},
				{Name: "page", Description: "Page number", Type: Integer, Min: &min1}},
			Run: m.marketBrowse},
		{Name: "buy", Description: "Buy from a listing",
			Options: []Option{listing,
				{Name: "quantity", Description: "How many (default: all that are left)", Type: Integer, Min: &min1, Max: &max100}},
			Run: m.marketBuy, Writes: true},
		{Name: "cancel", Description: "Cancel your listing and take back what is left", Options: []Option{listing},
			Run: m.marketCancel, Writes: true},
		{Name: "mine", Description: "Your open listings", Run: m.marketMine},
		{Name: "price", Description: "Recent sales of an item: last sales, 7-day median and volume", Options: []Option{item},
			Run: m.marketPrice},
	}}}
}

// MarketComponents returns /market's buttons (the browse pager).
func MarketComponents(svc *economy.Service) []*Component {
	m := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{{Prefix: marketPager, Run: m.marketBrowsePage}}
}

func (e *econ) marketSell(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	qty, _ := inv.Int("quantity")
	price, _ := inv.Int("price")
	if qty < 1 || qty > economy.MaxQuantity {
		return Reply{}, fail(economy.ErrBadQuantity)
	}
	l, err := e.svc.MarketSell(ctx, op(inv), userID(inv.User), it.Key, int(qty), price)
	if err != nil {
		return Reply{}, fail(err)
	}
	return embed("Listed", fmt.Sprintf("Listing **#%d**: %d× **%s** at %s each.", l.ID, l.Listed, l.ItemName, credits(l.UnitPrice)), colorEconomy,
		field("Expires", ts(l.ExpiresAt, "R"), true),
		field("You receive per item", credits(l.UnitPrice-economy.MarketFee(l.UnitPrice))+" after the fee", true),
	), nil
}

func (e *econ) marketBrowse(ctx context.Context, inv *Invocation) (Reply, error) {
	key := ""
	if text := inv.String("item"); text != "" {
		it, err := e.findItem(text)
		if err != nil {
			return Reply{}, err
		}
		key = it.Key
	}
	return e.browseReply(ctx, userID(inv.User), key, inv.String("sort"), pageArg(inv))
}

func (e *econ) browseReply(ctx context.Context, owner int64, item, sort string, page int) (Reply, error) {
	p, err := e.svc.MarketBrowse(ctx, item, sort, page)
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, l := range p.Rows {
		fmt.Fprintf(&b, "**#%d** %s", l.ID, listedWhat(l))
		if l.Rarity != "" {
			fmt.Fprintf(&b, " · %s", l.Rarity)
		}
		fmt.Fprintf(&b, "%s · %s each · by <@%d> · ends %s\n", wornNote(l.Worn), credits(l.UnitPrice), l.Seller, ts(l.ExpiresAt, "R"))
	}
	if len(p.Rows) == 0 {
		b.WriteString("No open listings. Sell with /market sell.")
	}
	title := "Market"
	if item != "" {
		it, _ := e.cat.Item(item)
		title += ": " + it.Name
	}
	r := embed(title, b.String(), colorEconomy)
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d · buy with /market buy listing:<number>", p.Page+1, p.Pages)}
	if sort == "" {
		sort = economy.SortCheapest
	}
	r.Components = browsePager(owner, p.Page, p.Pages, sort, item)
	return r, nil
}

// browsePager is pager's Previous/Next with the sort and filter kept.
func browsePager(owner int64, page, pages int, sort, item string) discord.ContainerComponents {
	comps := pager(marketPager, owner, page, pages)
	for _, c := range comps {
		for _, ic := range *c.(*discord.ActionRowComponent) {
			b := ic.(*discord.ButtonComponent)
			b.CustomID = discord.ComponentID(fmt.Sprintf("%s:%s:%s", b.CustomID, sort, item))
		}
	}
	return comps
}

func (e *econ) marketBrowsePage(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 4 {
		return Reply{}, Errorf("That button has expired.")
	}
	sort, item := inv.Args[2], inv.Args[3]
	inv.Args = inv.Args[:2]
	owner, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	return e.browseReply(ctx, owner, item, sort, page)
}

func (e *econ) marketBuy(ctx context.Context, inv *Invocation) (Reply, error) {
	id, _ := inv.Int("listing")
	qty, _ := inv.Int("quantity") // 0 when absent: all that are left
	if qty < 0 || qty > economy.MaxQuantity {
		return Reply{}, fail(economy.ErrBadQuantity)
	}
	p, err := e.svc.MarketBuy(ctx, op(inv), userID(inv.User), id, int(qty))
	if err != nil {
		return Reply{}, fail(err)
	}
	what := fmt.Sprintf("%d× **%s**", p.Quantity, p.ItemName)
	if p.Companion != nil {
		what = fmt.Sprintf("the companion **%s** (%s, level %d)", p.Companion.Name, p.ItemName, p.Companion.Level)
	}
	return embed("Bought", fmt.Sprintf("You bought %s from <@%d> for %s.", what, p.Seller, credits(p.Total)), colorSpend,
		field("Listing", fmt.Sprintf("#%d (%d left)", p.Listing, p.Left), true),
		field("Your wallet", credits(p.Wallet), true),
	), nil
}

func (e *econ) marketCancel(ctx context.Context, inv *Invocation) (Reply, error) {
	id, _ := inv.Int("listing")
	l, err := e.svc.MarketCancel(ctx, op(inv), userID(inv.User), id)
	if err != nil {
		return Reply{}, fail(err)
	}
	back := fmt.Sprintf("%d× **%s** are back in your inventory", l.Listed, l.ItemName)
	if l.Companion != nil {
		back = fmt.Sprintf("**%s** is back with you", l.Companion.Name)
	}
	return embed("Listing cancelled", fmt.Sprintf("Listing **#%d** is closed; %s.", l.ID, back), colorEconomy), nil
}

func (e *econ) marketMine(ctx context.Context, inv *Invocation) (Reply, error) {
	list, err := e.svc.MarketMine(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, l := range list {
		if l.Companion != nil {
			fmt.Fprintf(&b, "**#%d** %s at %s · ends %s\n", l.ID, listedWhat(l), credits(l.UnitPrice), ts(l.ExpiresAt, "R"))
			continue
		}
		fmt.Fprintf(&b, "**#%d** %d of %d× **%s**%s at %s each · ends %s\n", l.ID, l.Remaining, l.Listed, l.ItemName, wornNote(l.Worn),
			credits(l.UnitPrice), ts(l.ExpiresAt, "R"))
	}
	if len(list) == 0 {
		b.WriteString("You have no open listings.")
	}
	return embed("Your listings", b.String(), colorEconomy,
		field("Open", fmt.Sprintf("%d / %d", len(list), economy.MaxListings), true)), nil
}

func (e *econ) marketPrice(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	r, err := e.svc.MarketPrice(ctx, it.Key)
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, s := range r.Last {
		fmt.Fprintf(&b, "%d× at %s · %s\n", s.Quantity, credits(s.UnitPrice), ts(s.SoldAt, "R"))
	}
	if len(r.Last) == 0 {
		b.WriteString("No sales yet.")
	}
	median, lowest := "no sales in 7 days", "none"
	if r.Volume > 0 {
		median = credits(r.Median)
	}
	if r.Lowest > 0 {
		lowest = credits(r.Lowest)
	}
	return embed("Market price: "+r.ItemName, b.String(), colorEconomy,
		field("7-day median", median, true),
		field("7-day volume", fmt.Sprintf("%s item(s), %s", strconv.FormatInt(r.Volume, 10), credits(r.Credits)), true),
		field("Cheapest listing", lowest, true),
	), nil
}

// wornNote is the wear of the most worn of some tools, as a listing or an
// offer shows it; "" for items that do not wear.
func wornNote(usesLeft int) string {
	if usesLeft <= 0 {
		return ""
	}
	return " · most worn: " + nounCount(int64(usesLeft), "use", "uses") + " left"
}
