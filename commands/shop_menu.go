package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// The shop's menus: /shop shows a category select and an item select;
// picking an item shows it with Buy buttons (1, 5, 10) and a Quantity…
// button that opens a modal. A purchase is one economy operation named by
// the rendering it was pressed on (the interaction that drew the buttons)
// and the quantity, so a double click buys once and shows the same
// receipt; each purchase draws fresh buttons. Only the user who ran /shop
// can use its menus.

// Custom ID prefixes of the shop's components.
const (
	shopCatPrefix   = "shopcat"   // shopcat:<owner>                 category select
	shopItemPrefix  = "shopitem"  // shopitem:<owner>:<category>     item select
	shopBuyPrefix   = "shopbuy"   // shopbuy:<render>-<qty>:<owner>:<item>
	shopQtyPrefix   = "shopqty"   // shopqty:<owner>:<item>          opens the modal
	shopModalPrefix = "shopmodal" // shopmodal:<render>:<owner>:<item>
	// shopQuantityField is the modal's text input.
	shopQuantityField = "quantity"
)

// shopCategories orders the shop's categories: key, label and the item
// types in each.
var shopCategories = []struct {
	key, label string
	types      []string
}{
	{"tools", "Tools", []string{economy.TypeTool}},
	{"boosts", "Boosts and consumables", []string{economy.TypeConsumable}},
	{"companions", "Companion gear", []string{economy.TypeCapsule, economy.TypeCell, economy.TypeSkin, economy.TypeChassis}},
}

// shopCategoryOf returns the key of it's category ("" when none).
func shopCategoryOf(it *economy.Item) string {
	for _, c := range shopCategories {
		for _, t := range c.types {
			if it.Type == t {
				return c.key
			}
		}
	}
	return ""
}

// ShopComponents returns the shop's selects, buttons and modal.
func ShopComponents(svc *economy.Service) []*Component {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{
		{Prefix: shopCatPrefix, Run: e.shopCategory},
		{Prefix: shopItemPrefix, Run: e.shopItem},
		{Prefix: shopBuyPrefix, Writes: true, Run: e.shopBuy},
		{Prefix: shopQtyPrefix, Run: e.shopQuantity},
		{Prefix: shopModalPrefix, Writes: true, Run: e.shopModal},
	}
}

// shopNote is an item's one-line description in the shop.
func shopNote(it *economy.Item) string {
	switch {
	case it.Type == economy.TypeTool:
		return fmt.Sprintf(". Tool, %d uses.", it.Durability)
	case it.Effect != nil && it.Effect.Buff == economy.BuffStreakSaver:
		return ". Saves your daily streak on a missed day."
	case it.Effect != nil && it.Effect.Buff == economy.BuffWorkPay:
		return fmt.Sprintf(". +%d%% work pay for %d min.", it.Effect.Percent, it.Effect.Minutes)
	case it.Effect != nil && it.Effect.Buff == economy.BuffGatherLuck:
		return fmt.Sprintf(". +%d%% odds of rare finds for %d min.", it.Effect.Percent, it.Effect.Minutes)
	case it.Effect != nil && it.Effect.BankCapacity > 0:
		return fmt.Sprintf(". +%s bank capacity.", credits(it.Effect.BankCapacity))
	}
	return companionItemNote(it)
}

// shopMenu is the category select and the item select of category (all
// items when ""), with the current category and item shown as chosen.
func (e *econ) shopMenu(owner discord.UserID, category, item string) discord.ContainerComponents {
	cats := &discord.StringSelectComponent{CustomID: discord.ComponentID(fmt.Sprintf("%s:%d", shopCatPrefix, owner)), Placeholder: "Browse a category"}
	for _, c := range shopCategories {
		cats.Options = append(cats.Options, discord.SelectOption{Label: c.label, Value: c.key, Default: c.key == category})
	}
	items := &discord.StringSelectComponent{CustomID: discord.ComponentID(fmt.Sprintf("%s:%d:%s", shopItemPrefix, owner, category)), Placeholder: "Pick an item to buy"}
	for _, it := range e.cat.Shop() {
		if category != "" && shopCategoryOf(it) != category {
			continue
		}
		if len(items.Options) == 25 {
			break
		}
		items.Options = append(items.Options, discord.SelectOption{
			Label: clip(it.Name, 100), Value: it.Key, Default: it.Key == item,
			Description: clip(credits(it.Price)+strings.TrimPrefix(shopNote(it), "."), 100),
		})
	}
	rows := discord.ContainerComponents{&discord.ActionRowComponent{cats}}
	if len(items.Options) > 0 {
		rows = append(rows, &discord.ActionRowComponent{items})
	}
	return rows
}

// shopOwner checks that the presser is the user the menu was drawn for.
func shopOwner(inv *Invocation, arg string) (discord.UserID, error) {
	id, err := discord.ParseSnowflake(arg)
	if err != nil {
		return 0, Errorf("That menu has expired. Run /shop again.")
	}
	if discord.UserID(id) != inv.User.ID {
		return 0, Errorf("This shop belongs to someone else; run /shop yourself.")
	}
	return discord.UserID(id), nil
}

func (e *econ) shopCategory(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 1 || len(inv.Values) != 1 {
		return Reply{}, Errorf("That menu has expired. Run /shop again.")
	}
	owner, err := shopOwner(inv, inv.Args[0])
	if err != nil {
		return Reply{}, err
	}
	var b strings.Builder
	label := ""
	for _, c := range shopCategories {
		if c.key == inv.Values[0] {
			label = c.label
		}
	}
	if label == "" {
		return Reply{}, Errorf("There is no such category. Run /shop again.")
	}
	for _, it := range e.cat.Shop() {
		if shopCategoryOf(it) == inv.Values[0] {
			fmt.Fprintf(&b, "**%s**: %s%s\n", it.Name, credits(it.Price), shopNote(it))
		}
	}
	r := embed("Shop · "+label, b.String(), colorEconomy)
	r.Components = e.shopMenu(owner, inv.Values[0], "")
	return r, nil
}

func (e *econ) shopItem(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 2 || len(inv.Values) != 1 {
		return Reply{}, Errorf("That menu has expired. Run /shop again.")
	}
	owner, err := shopOwner(inv, inv.Args[0])
	if err != nil {
		return Reply{}, err
	}
	it, ok := e.cat.Item(inv.Values[0])
	if !ok || it.Price <= 0 {
		return Reply{}, Errorf("That item is not sold in the shop. Run /shop again.")
	}
	return e.shopItemView(ctx, inv, owner, inv.Args[1], it, "")
}

// shopItemView shows it with its Buy buttons, drawn by inv (whose ID names
// the purchases the buttons make), and note (a receipt) above.
func (e *econ) shopItemView(ctx context.Context, inv *Invocation, owner discord.UserID, category string, it *economy.Item, note string) (Reply, error) {
	a, err := e.svc.Balance(ctx, int64(owner))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := note
	if desc != "" {
		desc += "\n\n"
	}
	desc += fmt.Sprintf("**%s** costs **%s**%s", it.Name, credits(it.Price), shopNote(it))
	r := embed("Shop · "+it.Name, desc, rarityColor(it.Rarity),
		field("Your wallet", credits(a.Wallet), true),
		field("You can afford", fmt.Sprint(a.Wallet/it.Price), true))
	buy := func(q int) discord.InteractiveComponent {
		return &discord.ButtonComponent{
			Style: discord.PrimaryButtonStyle(), Label: fmt.Sprintf("Buy %d", q),
			CustomID: discord.ComponentID(fmt.Sprintf("%s:%s-%d:%d:%s", shopBuyPrefix, inv.ID, q, owner, it.Key)),
			Disabled: a.Wallet < it.Price*int64(q),
		}
	}
	r.Components = append(e.shopMenu(owner, category, it.Key), &discord.ActionRowComponent{
		buy(1), buy(5), buy(10),
		&discord.ButtonComponent{Style: discord.SecondaryButtonStyle(), Label: "Quantity…",
			CustomID: discord.ComponentID(fmt.Sprintf("%s:%d:%s", shopQtyPrefix, owner, it.Key))},
	})
	return r, nil
}

// shopBuyArgs decodes a Buy press: shopbuy:<render>-<qty>:<owner>:<item>.
func (e *econ) shopBuyArgs(inv *Invocation) (discord.UserID, *economy.Item, int, error) {
	expired := Errorf("That button has expired. Run /shop again.")
	if len(inv.Args) != 3 {
		return 0, nil, 0, expired
	}
	_, qs, ok := strings.Cut(inv.Args[0], "-")
	q, err := strconv.Atoi(qs)
	it, found := e.cat.Item(inv.Args[2])
	if !ok || err != nil || q < 1 || q > economy.MaxQuantity || !found || it.Price <= 0 {
		return 0, nil, 0, expired
	}
	owner, err := shopOwner(inv, inv.Args[1])
	if err != nil {
		return 0, nil, 0, err
	}
	return owner, it, q, nil
}

func (e *econ) shopBuy(ctx context.Context, inv *Invocation) (Reply, error) {
	owner, it, q, err := e.shopBuyArgs(inv)
	if err != nil {
		return Reply{}, err
	}
	return e.shopPurchase(ctx, inv, owner, it, q)
}

// shopPurchase buys q of it for owner as inv's operation and shows the
// item again with a receipt and fresh buttons.
func (e *econ) shopPurchase(ctx context.Context, inv *Invocation, owner discord.UserID, it *economy.Item, q int) (Reply, error) {
	p, err := e.svc.Buy(ctx, op(inv), int64(owner), it.Key, q)
	if err != nil {
		return Reply{}, fail(err)
	}
	receipt := fmt.Sprintf("✅ You bought %d× **%s** for %s.", p.Quantity, p.ItemName, credits(p.Total))
	return e.shopItemView(ctx, inv, owner, shopCategoryOf(it), it, receipt)
}

func (e *econ) shopQuantity(ctx context.Context, inv *Invocation) (Reply, error) {
	if len(inv.Args) != 2 {
		return Reply{}, Errorf("That button has expired. Run /shop again.")
	}
	owner, err := shopOwner(inv, inv.Args[0])
	if err != nil {
		return Reply{}, err
	}
	it, ok := e.cat.Item(inv.Args[1])
	if !ok || it.Price <= 0 {
		return Reply{}, Errorf("That item is not sold in the shop. Run /shop again.")
	}
	return Reply{Modal: &Modal{
		CustomID: fmt.Sprintf("%s:%s:%d:%s", shopModalPrefix, inv.ID, owner, it.Key),
		Title:    clip("Buy "+it.Name, 45),
		Inputs: []TextInput{{CustomID: shopQuantityField, Label: fmt.Sprintf("How many? (1-%d)", economy.MaxQuantity),
			Placeholder: "1", Required: true, MinLength: 1, MaxLength: 3}},
	}}, nil
}

func (e *econ) shopModal(ctx context.Context, inv *Invocation) (Reply, error) {
	expired := Errorf("That form has expired. Run /shop again.")
	if len(inv.Args) != 3 {
		return Reply{}, expired
	}
	owner, err := shopOwner(inv, inv.Args[1])
	if err != nil {
		return Reply{}, err
	}
	it, ok := e.cat.Item(inv.Args[2])
	if !ok || it.Price <= 0 {
		return Reply{}, expired
	}
	text := strings.TrimSpace(inv.Fields[shopQuantityField])
	q, err := strconv.Atoi(text)
	if err != nil || q < 1 || q > economy.MaxQuantity {
		return Reply{}, Errorf("%q is not a quantity: type a whole number from 1 to %d.", text, economy.MaxQuantity)
	}
	return e.shopPurchase(ctx, inv, owner, it, q)
}
