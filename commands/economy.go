package commands

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// Embed colours of the economy's replies.
const (
	colorEconomy discord.Color = 0xF1C40F
	colorGain    discord.Color = 0x2ECC71
	colorSpend   discord.Color = 0xE67E22
)

// Button prefixes of the economy's pagers.
const (
	inventoryPager = "econinv"
	logPager       = "econlog"
)

// EconomyHelp holds the longer /help texts of the economy's commands.
func EconomyHelp() map[string]string {
	notes := CompanionHelp()
	maps.Copy(notes, map[string]string{
		"market":       marketHelp,
		"trade":        tradeHelp,
		"leaderboard":  leaderboardHelp,
		"achievements": achievementsHelp,
		"event":        eventHelp,
		"daily": "Claim once per UTC day. Claiming on consecutive days grows your streak; the reward is " +
			"the base times 1.0× plus 0.1× per streak day after the first, up to 3.0×. Each missed day " +
			"halves your streak, unless a Streak Shield (from /shop, then /use) covers it.",
		"pay": "Amounts accept 1500, 1,500, 1.5k, 2m, all and half. You cannot pay yourself or bots. " +
			"A payment of 10,000 credits or more, or of more than half your wallet (from 1,000), waits for you to press Confirm, within 2 minutes.",
		"bank": "Deposits are limited by your bank capacity; a Bank Note raises it. Amounts accept 1500, 1.5k, 2m, all and half.",
	})
	return notes
}

// Economy returns the economy's slash commands: /balance, /daily, /pay,
// /bank, /work, /gather, /shop, /buy, /sell, /inventory, /use,
// /collection, /vault and /currencylog. Register EconomyComponents too.
func Economy(svc *economy.Service) []*Command {
	e := &econ{svc: svc, cat: svc.Catalog(), holdings: newHoldingsCache(svc)}
	amount := Option{Name: "amount", Description: "Credits: 1500, 1.5k, 2m, all or half", Type: String, Required: true, MaxLength: 40}
	min1, max100 := 1.0, float64(economy.MaxQuantity)
	qty := Option{Name: "quantity", Description: "How many (1-100, default 1)", Type: Integer, Min: &min1, Max: &max100}
	page := Option{Name: "page", Description: "Page number", Type: Integer, Min: &min1}
	itemText := func(desc string, suggest Autocompleter) Option {
		return Option{Name: "item", Description: desc, Type: String, Required: true, MaxLength: 64, Autocomplete: suggest}
	}
	cmds := []*Command{
		{Name: "balance", Description: "Show a wallet, bank and net worth",
			Options: []Option{{Name: "user", Description: "Whose balance (default: yours)", Type: User}},
			Run:     e.balance},
		{Name: "daily", Description: "Claim your daily credits; streaks pay up to 3x", Run: e.daily, Writes: true},
		{Name: "pay", Description: "Give credits from your wallet to another user",
			Options: []Option{{Name: "user", Description: "Who receives the credits", Type: User, Required: true}, amount},
			Run:     e.payOrConfirm, Writes: true},
		{Name: "bank", Description: "Keep credits in your bank", Subcommands: []*Command{
			{Name: "deposit", Description: "Move credits from your wallet to your bank", Options: []Option{amount}, Run: e.deposit, Writes: true},
			{Name: "withdraw", Description: "Move credits from your bank to your wallet", Options: []Option{amount}, Run: e.withdraw, Writes: true},
			{Name: "view", Description: "Show your bank and its capacity", Run: e.bankView},
		}},
		{Name: "work", Description: "Work a shift for credits",
			Options: []Option{{Name: "job", Description: "The job to do", Type: String, Required: true, Choices: e.jobChoices()}},
			Run:     e.work, Writes: true},
		{Name: "gather", Description: "Use a tool to find collectibles",
			Options: []Option{{Name: "tool", Description: "The tool to use (default: your most worn)", Type: String, MaxLength: 64, Autocomplete: e.toolSuggestions}},
			Run:     e.gather, Writes: true},
		{Name: "shop", Description: "See what you can buy", Run: e.shop},
		{Name: "buy", Description: "Buy an item from the shop",
			Options: []Option{itemText("What to buy", e.buyChoices), qty},
			Run:     e.buy, Writes: true},
		{Name: "sell", Description: "Sell items you own",
			Options: []Option{itemText("What to sell (name or key)", e.sellChoices), qty},
			Run:     e.sell, Writes: true},
		{Name: "inventory", Description: "List your items", Options: []Option{page}, Run: e.inventory},
		{Name: "use", Description: "Use a consumable for a buff",
			Options: []Option{itemText("The consumable", e.useChoices)},
			Run:     e.use, Writes: true},
		{Name: "collection", Description: "See what you have found, with completion",
			Options: []Option{{Name: "filter", Description: "A rarity or a kind", Type: String, Choices: e.filterChoices()}},
			Run:     e.collection},
		{Name: "vault", Description: "Show off rare finds: /vault view, /vault add or /vault remove", Subcommands: []*Command{
			{Name: "add", Description: "Put a rare or better find on show", Options: []Option{itemText("The collectible (name or key)", e.vaultAddChoices)}, Run: e.vaultAdd, Writes: true},
			{Name: "remove", Description: "Take a find off show", Options: []Option{itemText("The collectible (name or key)", e.vaultRemoveChoices)}, Run: e.vaultRemove, Writes: true},
			{Name: "view", Description: "See a vault", Options: []Option{{Name: "user", Description: "Whose vault (default: yours)", Type: User}}, Run: e.vaultView},
		}},
		{Name: "currencylog", Description: "Your recent credit movements", Options: []Option{page}, Ephemeral: true, Run: e.currencyLog},
	}
	e.holdings.forgetAfter(cmds)
	return cmds
}

// EconomyComponents returns the economy's button handlers (pagers).
func EconomyComponents(svc *economy.Service) []*Component {
	e := &econ{svc: svc, cat: svc.Catalog()}
	return []*Component{
		{Prefix: inventoryPager, Run: e.inventoryPage},
		{Prefix: logPager, Run: e.logPage},
	}
}

type econ struct {
	svc *economy.Service
	cat *economy.Catalog
	// holdings caches users' items for autocomplete (nil for buttons).
	holdings *holdingsCache
}

// fail turns a domain error into a reply error: refusals (returned as they
// are, without the wrapping) and contention become ephemeral messages;
// anything else is a failure to log.
func fail(err error) error {
	if r, ok := refusal.As(err); ok {
		return r
	}
	switch {
	case errors.Is(err, economy.ErrRetriesExhausted):
		return Explain(err, "The economy is very busy right now; nothing was changed. Please try again.")
	}
	return fmt.Errorf("economy: %w", err)
}

func op(inv *Invocation) economy.Op { return economy.Op(inv.OperationID()) }

func userID(u discord.User) int64 { return int64(u.ID) }

// credits formats an amount with thousands separators.
func credits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	unit := " credits"
	if n == 1 || n == -1 {
		unit = " credit"
	}
	if neg {
		return "-" + b.String() + unit
	}
	return b.String() + unit
}

func ts(t time.Time, style string) string { return fmt.Sprintf("<t:%d:%s>", t.Unix(), style) }

func field(name, value string, inline bool) discord.EmbedField {
	return discord.EmbedField{Name: name, Value: value, Inline: inline}
}

func embed(title, desc string, color discord.Color, fields ...discord.EmbedField) Reply {
	return Reply{Embeds: []discord.Embed{{Title: title, Description: desc, Color: color, Fields: fields}}}
}

func (e *econ) parseAmount(inv *Invocation) (economy.Amount, error) {
	a, err := economy.ParseAmount(inv.String("amount"))
	if err != nil {
		return economy.Amount{}, fail(err)
	}
	return a, nil
}

// findItem resolves user text to a catalogue item by key or name.
func (e *econ) findItem(text string) (*economy.Item, error) {
	t := strings.ToLower(strings.TrimSpace(text))
	if it, ok := e.cat.Item(strings.ReplaceAll(t, " ", "_")); ok {
		return it, nil
	}
	for i := range e.cat.Items {
		if strings.ToLower(e.cat.Items[i].Name) == t {
			return &e.cat.Items[i], nil
		}
	}
	return nil, Explain(economy.ErrUnknownItem, fmt.Sprintf("There is no item called %q. See /inventory or /shop.", text))
}

func (e *econ) jobChoices() []Choice {
	var out []Choice
	for _, j := range e.cat.Jobs {
		out = append(out, Choice{Name: j.Name, Value: j.Key})
	}
	return out
}

func (e *econ) filterChoices() []Choice {
	var out []Choice
	seen := map[string]bool{}
	for _, r := range e.cat.Rarities {
		out = append(out, Choice{Name: "rarity: " + r.Key, Value: r.Key})
		seen[r.Key] = true
	}
	for _, it := range e.cat.Items {
		if it.Type == economy.TypeCollectible && !seen[it.Kind] && len(out) < 25 {
			seen[it.Kind] = true
			out = append(out, Choice{Name: "kind: " + it.Kind, Value: it.Kind})
		}
	}
	return out
}

func (e *econ) balance(ctx context.Context, inv *Invocation) (Reply, error) {
	who := inv.User
	if u, ok := inv.UserOption("user"); ok {
		who = u
	}
	if who.Bot {
		return Reply{}, Explain(economy.ErrBotRecipient, "Bots do not have accounts.")
	}
	a, err := e.svc.Balance(ctx, userID(who))
	if err != nil {
		return Reply{}, fail(err)
	}
	title, err := e.svc.Title(ctx, userID(who))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := ""
	if title != "" {
		desc = fmt.Sprintf("*%s*, by achievement", title)
	}
	r := embed(fmt.Sprintf("Balance of %s", displayName(who)), desc, colorEconomy,
		field("Wallet", credits(a.Wallet), true),
		field("Bank", fmt.Sprintf("%s / %s", credits(a.Bank), credits(a.BankCapacity)), true),
		field("Net worth", credits(a.NetWorth()), true),
		field("Daily streak", nounCount(int64(a.Streak), "day", "days"), true),
	)
	if a.Premium {
		r.Embeds[0].Fields = append(r.Embeds[0].Fields, premiumField)
	}
	return r, nil
}

func displayName(u discord.User) string {
	switch {
	case u.DisplayName != "":
		return u.DisplayName
	case u.Username != "":
		return u.Username
	}
	return u.ID.Mention()
}

func (e *econ) daily(ctx context.Context, inv *Invocation) (Reply, error) {
	r, err := e.svc.Daily(ctx, op(inv), userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("You claimed **%s**.", credits(r.Reward))
	if r.SaversUsed > 0 {
		desc += fmt.Sprintf("\nA Streak Shield covered %s.", nounCount(int64(r.SaversUsed), "missed day", "missed days"))
	}
	if r.Decayed {
		desc += "\nYou missed a day, so your streak was cut."
	}
	if r.Premium > 0 {
		desc += fmt.Sprintf("\nPremium added **%s**.", credits(r.Premium))
	}
	return embed("Daily reward", desc, colorGain,
		field("Streak", nounCount(int64(r.Streak), "day", "days"), true),
		field("Multiplier", fmt.Sprintf("%d.%02d×", r.Percent/100, r.Percent%100), true),
		field("Wallet", credits(r.Wallet), true),
		field("Next claim", ts(r.Next, "R"), true),
	), nil
}

func (e *econ) pay(ctx context.Context, inv *Invocation) (Reply, error) {
	to, _ := inv.UserOption("user")
	amt, err := e.parseAmount(inv)
	if err != nil {
		return Reply{}, err
	}
	p, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(inv), From: userID(inv.User), To: userID(to), ToBot: to.Bot, Amount: amt})
	if err != nil {
		return Reply{}, fail(err)
	}
	return embed("Payment sent", fmt.Sprintf("%s paid %s **%s**.", inv.User.ID.Mention(), to.ID.Mention(), credits(p.Amount)), colorSpend,
		field("Your wallet", credits(p.FromWallet), true),
	), nil
}

func (e *econ) deposit(ctx context.Context, inv *Invocation) (Reply, error) {
	amt, err := e.parseAmount(inv)
	if err != nil {
		return Reply{}, err
	}
	r, err := e.svc.Deposit(ctx, op(inv), userID(inv.User), amt)
	if err != nil {
		return Reply{}, fail(err)
	}
	return bankReply("Deposited", r), nil
}

func (e *econ) withdraw(ctx context.Context, inv *Invocation) (Reply, error) {
	amt, err := e.parseAmount(inv)
	if err != nil {
		return Reply{}, err
	}
	r, err := e.svc.Withdraw(ctx, op(inv), userID(inv.User), amt)
	if err != nil {
		return Reply{}, fail(err)
	}
	return bankReply("Withdrew", r), nil
}

func bankReply(verb string, r economy.BankResult) Reply {
	return embed("Bank", fmt.Sprintf("%s **%s**.", verb, credits(r.Amount)), colorEconomy,
		field("Wallet", credits(r.Account.Wallet), true),
		field("Bank", fmt.Sprintf("%s / %s", credits(r.Account.Bank), credits(r.Account.BankCapacity)), true),
	)
}

func (e *econ) bankView(ctx context.Context, inv *Invocation) (Reply, error) {
	a, err := e.svc.Balance(ctx, userID(inv.User))
	if err != nil {
		return Reply{}, fail(err)
	}
	r := embed("Bank", "", colorEconomy,
		field("Bank", credits(a.Bank), true),
		field("Capacity", credits(a.BankCapacity), true),
		field("Room left", credits(max(a.BankCapacity-a.Bank, 0)), true),
	)
	if a.Premium {
		r.Embeds[0].Fields = append(r.Embeds[0].Fields, premiumField)
	}
	return r, nil
}

func (e *econ) work(ctx context.Context, inv *Invocation) (Reply, error) {
	s, err := e.svc.Work(ctx, op(inv), userID(inv.User), inv.String("job"))
	if err != nil {
		return Reply{}, fail(err)
	}
	desc := fmt.Sprintf("%s\nYou earned **%s**.", s.Flavour, credits(s.Pay))
	if s.BonusPercent > 0 {
		desc += fmt.Sprintf(" (+%d%% from your buff)", s.BonusPercent)
	}
	desc += helperNote(s.Helper, "pay") + eventNote(s.Event)
	return embed(s.JobName, desc, colorGain,
		field("Wallet", credits(s.Wallet), true),
		field("Next shift", ts(s.Next, "R"), true),
	), nil
}

func (e *econ) gather(ctx context.Context, inv *Invocation) (Reply, error) {
	var named string // "" picks the most worn tool
	if inv.Has("tool") {
		it, err := e.findItem(inv.String("tool"))
		if err != nil {
			return Reply{}, err
		}
		named = it.Key
	}
	f, err := e.svc.Gather(ctx, op(inv), userID(inv.User), named)
	if err != nil {
		return Reply{}, e.noTool(ctx, err, userID(inv.User), named)
	}
	tool, _ := e.cat.Item(f.Tool)
	desc := fmt.Sprintf("With your %s you found **%s** (%s).", tool.Name, f.ItemName, f.Rarity)
	if f.FirstFind {
		desc += "\nA new entry in your /collection!"
	}
	desc += helperNote(f.Helper, "odds of rare finds") + eventNote(f.Event)
	if b, ok := e.cat.Item(f.Bonus); ok {
		desc += fmt.Sprintf("\n🎁 And a **%s**! /use it.", b.Name)
	}
	dur := nounCount(int64(f.Durability), "use", "uses") + " left"
	if f.Broke {
		dur = "Your tool broke."
	}
	return embed("Gathering", desc, rarityColor(f.Rarity),
		field("Tool", dur, true),
		field("Next gather", ts(f.Next, "R"), true),
	), nil
}

func rarityColor(r string) discord.Color {
	switch r {
	case "uncommon":
		return 0x2ECC71
	case "rare":
		return 0x3498DB
	case "epic":
		return 0x9B59B6
	case "legendary":
		return 0xF1C40F
	case "mythic":
		return 0xE91E63
	}
	return 0x95A5A6
}

func (e *econ) shop(ctx context.Context, inv *Invocation) (Reply, error) {
	var b strings.Builder
	for _, it := range e.cat.Shop() {
		fmt.Fprintf(&b, "**%s** (`%s`): %s%s", it.Name, it.Key, credits(it.Price), shopNote(it))
		if e.cat.PremiumOnly(it.Key) {
			b.WriteString(" ✨ Premium only.")
		}
		b.WriteByte('\n')
	}
	b.WriteString("\nPick an item below to buy it, or use /buy; sell finds with /sell.")
	r := embed("Shop", b.String(), colorEconomy)
	r.Components = e.shopMenu(inv.User.ID, "", "")
	return r, nil
}

func quantity(inv *Invocation) int {
	if q, ok := inv.Int("quantity"); ok {
		return int(q)
	}
	return 1
}

func (e *econ) buy(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	p, err := e.svc.Buy(ctx, op(inv), userID(inv.User), it.Key, quantity(inv))
	if err != nil {
		return Reply{}, fail(err)
	}
	return embed("Purchase", fmt.Sprintf("You bought %d× **%s** for %s.", p.Quantity, p.ItemName, credits(p.Total)), colorSpend,
		field("Wallet", credits(p.Wallet), true)), nil
}

func (e *econ) sell(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	p, err := e.svc.Sell(ctx, op(inv), userID(inv.User), it.Key, quantity(inv))
	if err != nil {
		return Reply{}, e.notEnough(ctx, err, userID(inv.User), it, quantity(inv), "sell")
	}
	return embed("Sale", fmt.Sprintf("You sold %d× **%s** for %s.", p.Quantity, p.ItemName, credits(p.Total)), colorGain,
		field("Wallet", credits(p.Wallet), true)), nil
}

func pageArg(inv *Invocation) int {
	if p, ok := inv.Int("page"); ok {
		return int(p) - 1
	}
	return 0
}

func (e *econ) inventory(ctx context.Context, inv *Invocation) (Reply, error) {
	return e.inventoryReply(ctx, userID(inv.User), pageArg(inv))
}

func (e *econ) inventoryReply(ctx context.Context, user int64, page int) (Reply, error) {
	p, err := e.svc.Inventory(ctx, user, page)
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, st := range p.Rows {
		fmt.Fprintf(&b, "**%s** ×%d", st.Name, st.Count)
		switch {
		case st.Type == economy.TypeTool:
			fmt.Fprintf(&b, " (most worn: %d uses left)", st.Durability)
		case st.Rarity != "":
			fmt.Fprintf(&b, " · %s", st.Rarity)
		}
		if st.Vaulted > 0 {
			fmt.Fprintf(&b, " · %d in vault", st.Vaulted)
		}
		b.WriteByte('\n')
	}
	if len(p.Rows) == 0 {
		b.WriteString("Nothing yet. Buy a tool in /shop and /gather.")
	}
	r := embed("Inventory", b.String(), colorEconomy)
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d", p.Page+1, p.Pages)}
	r.Components = pager(inventoryPager, user, p.Page, p.Pages)
	return r, nil
}

// pager returns Previous/Next buttons for page of pages; the custom ID
// carries the owner and the target page.
func pager(prefix string, owner int64, page, pages int) discord.ContainerComponents {
	if pages <= 1 {
		return nil
	}
	button := func(label string, target int, disabled bool) discord.InteractiveComponent {
		return &discord.ButtonComponent{
			Style:    discord.SecondaryButtonStyle(),
			Label:    label,
			CustomID: discord.ComponentID(fmt.Sprintf("%s:%d:%d", prefix, owner, target)),
			Disabled: disabled,
		}
	}
	return discord.ContainerComponents{&discord.ActionRowComponent{
		button("◀ Previous", page-1, page <= 0),
		button("Next ▶", page+1, page >= pages-1),
	}}
}

// pageButton decodes a pager press: only the owner may turn the pages.
func pageButton(inv *Invocation) (owner int64, page int, err error) {
	if len(inv.Args) != 2 {
		return 0, 0, Errorf("That button has expired.")
	}
	owner, err1 := strconv.ParseInt(inv.Args[0], 10, 64)
	page, err2 := strconv.Atoi(inv.Args[1])
	if err1 != nil || err2 != nil || page < 0 {
		return 0, 0, Errorf("That button has expired.")
	}
	if owner != userID(inv.User) {
		return 0, 0, Errorf("These buttons belong to someone else; run the command yourself.")
	}
	return owner, page, nil
}

func (e *econ) inventoryPage(ctx context.Context, inv *Invocation) (Reply, error) {
	owner, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	return e.inventoryReply(ctx, owner, page)
}

func (e *econ) use(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	if it.Type == economy.TypeCapsule {
		return openCapsule(ctx, e.svc, inv, it.Key)
	}
	u, err := e.svc.Use(ctx, op(inv), userID(inv.User), it.Key)
	if err != nil {
		return Reply{}, e.notEnough(ctx, err, userID(inv.User), it, 1, "use")
	}
	var desc string
	switch {
	case u.Until != nil:
		desc = fmt.Sprintf("+%d%% %s until %s.", u.Percent, buffName(u.Buff), ts(*u.Until, "t"))
	case u.Buff == economy.BuffStreakSaver:
		desc = fmt.Sprintf("Your streak is shielded: %s covered.", nounCount(int64(u.Charges), "missed day", "missed days"))
	default:
		desc = fmt.Sprintf("Your bank capacity is now %s.", credits(u.BankCapacity))
	}
	return embed("Used "+u.ItemName, desc, colorGain), nil
}

func buffName(kind string) string {
	switch kind {
	case economy.BuffWorkPay:
		return "work pay"
	case economy.BuffGatherLuck:
		return "odds of rare finds"
	}
	return kind
}

func (e *econ) collection(ctx context.Context, inv *Invocation) (Reply, error) {
	c, err := e.svc.Collection(ctx, userID(inv.User), inv.String("filter"))
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, en := range c.Entries {
		if en.Found > 0 {
			fmt.Fprintf(&b, "✅ **%s** (%s %s) ×%d\n", en.Name, en.Rarity, en.Kind, en.Found)
		} else {
			fmt.Fprintf(&b, "❔ ??? (%s %s)\n", en.Rarity, en.Kind)
		}
	}
	title := "Collection"
	if c.Filter != "" {
		title += ": " + c.Filter
	}
	r := embed(title, b.String(), colorEconomy, field("Completion", fmt.Sprintf("%d / %d (%d%%)", c.Have, c.Total, c.Complete()), false))
	return r, nil
}

func (e *econ) vaultAdd(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	v, err := e.svc.VaultAdd(ctx, op(inv), userID(inv.User), it.Key)
	if err != nil {
		return Reply{}, e.notEnough(ctx, err, userID(inv.User), it, 1, "put on show")
	}
	return embed("Vault", fmt.Sprintf("**%s** (%s) is now on show.", v.Name, v.Rarity), rarityColor(v.Rarity)), nil
}

func (e *econ) vaultRemove(ctx context.Context, inv *Invocation) (Reply, error) {
	it, err := e.findItem(inv.String("item"))
	if err != nil {
		return Reply{}, err
	}
	v, err := e.svc.VaultRemove(ctx, op(inv), userID(inv.User), it.Key)
	if err != nil {
		return Reply{}, fail(err)
	}
	return embed("Vault", fmt.Sprintf("**%s** is back in your inventory.", v.Name), colorEconomy), nil
}

func (e *econ) vaultView(ctx context.Context, inv *Invocation) (Reply, error) {
	who := inv.User
	if u, ok := inv.UserOption("user"); ok {
		who = u
	}
	list, err := e.svc.Vault(ctx, userID(who))
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, v := range list {
		fmt.Fprintf(&b, "**%s** · %s · since %s\n", v.Name, v.Rarity, ts(v.AddedAt, "d"))
	}
	if len(list) == 0 {
		b.WriteString("Empty.")
	}
	return embed(fmt.Sprintf("Vault of %s", displayName(who)), b.String(), colorEconomy), nil
}

func (e *econ) currencyLog(ctx context.Context, inv *Invocation) (Reply, error) {
	return e.logReply(ctx, userID(inv.User), pageArg(inv))
}

func (e *econ) logReply(ctx context.Context, user int64, page int) (Reply, error) {
	p, err := e.svc.CurrencyLog(ctx, user, page)
	if err != nil {
		return Reply{}, fail(err)
	}
	var b strings.Builder
	for _, en := range p.Rows {
		sign := "+"
		if en.Amount < 0 {
			sign = ""
		}
		fmt.Fprintf(&b, "%s `%s%s` %s", ts(en.At, "f"), sign, credits(en.Amount), en.Kind)
		memo := en.Memo
		if from, to, ok := strings.Cut(memo, " -> "); ok && en.Kind == "pay" {
			memo = "<@" + from + "> → <@" + to + ">"
		}
		if memo != "" {
			fmt.Fprintf(&b, " (%s)", memo)
		}
		b.WriteByte('\n')
	}
	if len(p.Rows) == 0 {
		b.WriteString("No transactions yet.")
	}
	r := embed("Currency log", b.String(), colorEconomy)
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("Page %d of %d", p.Page+1, p.Pages)}
	r.Components = pager(logPager, user, p.Page, p.Pages)
	r.Ephemeral = true
	return r, nil
}

func (e *econ) logPage(ctx context.Context, inv *Invocation) (Reply, error) {
	owner, page, err := pageButton(inv)
	if err != nil {
		return Reply{}, err
	}
	return e.logReply(ctx, owner, page)
}
