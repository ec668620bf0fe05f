package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// newTradeEnv is newEconEnv with /trade registered.
func newTradeEnv(t testing.TB) *econEnv {
	t.Helper()
	e := newEconEnv(t)
	cat, err := commands.NewCatalog(append(commands.Economy(e.svc), commands.Trade(e.svc)...),
		append(commands.EconomyComponents(e.svc), commands.TradeComponents(e.svc)...))
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// component presses a button, or picks values in a select, as from.
func (e *econEnv) component(t *testing.T, from discord.User, id discord.ComponentID, values ...string) (string, bool, discord.ContainerComponents) {
	t.Helper()
	u := from
	var data discord.ComponentInteraction = &discord.ButtonInteraction{CustomID: id}
	if values != nil {
		data = &discord.StringSelectInteraction{CustomID: id, Values: values}
	}
	ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", User: &u, Data: data}
	text, eph, d := e.reply(t, ev)
	var comps discord.ContainerComponents
	if d.Components != nil {
		comps = *d.Components
	}
	return text, eph, comps
}

func findSelect(t *testing.T, comps discord.ContainerComponents) *discord.StringSelectComponent {
	t.Helper()
	for _, c := range comps {
		if row, ok := c.(*discord.ActionRowComponent); ok {
			for _, ic := range *row {
				if s, ok := ic.(*discord.StringSelectComponent); ok {
					return s
				}
			}
		}
	}
	t.Fatal("no select menu")
	return nil
}

func TestTradeCommand(t *testing.T) {
	e := newTradeEnv(t)
	e.fund(t, alice, 10000)
	e.fund(t, bob, 10000)
	e.reply(t, e.command(alice, "buy", opt{"item", "coffee"}, opt{"quantity", 2}))
	e.reply(t, e.command(bob, "buy", opt{"item", "pickaxe"}))

	if text, eph, _ := e.reply(t, e.command(alice, "trade", opt{"user", alice})); !eph || !strings.Contains(text, economy.ErrSelfTrade.Message) {
		t.Fatalf("trade with yourself: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "trade", opt{"user", robot})); !eph || !strings.Contains(text, "Bots do not trade") {
		t.Fatalf("trade with a bot: %q", text)
	}
	text, _, data := e.reply(t, e.command(alice, "trade", opt{"user", bob}))
	if !strings.Contains(text, "Trade #1") || !strings.Contains(text, "version 1") || data.Components == nil {
		t.Fatalf("window: %q", text)
	}
	comps := *data.Components
	sel := findSelect(t, comps)
	if len(sel.Options) != 2 {
		t.Fatalf("menu options %+v, want alice's coffee and bob's pickaxe", sel.Options)
	}
	// bob cannot add alice's coffee; alice adds one.
	if text, eph, _ := e.component(t, bob, sel.CustomID, "1001:coffee"); !eph || !strings.Contains(text, "your own items") {
		t.Fatalf("bob picks alice's item: %q", text)
	}
	text, _, comps = e.component(t, alice, sel.CustomID, "1001:coffee")
	if !strings.Contains(text, "1× **Coffee**") || !strings.Contains(text, "version 2") {
		t.Fatalf("after alice's pick: %q", text)
	}
	v2 := comps
	text, _, comps = e.component(t, bob, findButton(t, comps, "+1,000 credits").CustomID)
	if !strings.Contains(text, "**1,000 credits**") || !strings.Contains(text, "version 3") {
		t.Fatalf("after bob's credits: %q", text)
	}
	// A press on the window as it was (version 2) is stale.
	if text, eph, _ := e.component(t, alice, findButton(t, v2, "Confirm").CustomID); !eph || !strings.Contains(text, economy.ErrStaleTrade.Message) {
		t.Fatalf("stale confirm: %q", text)
	}
	text, _, comps = e.component(t, alice, findButton(t, comps, "Confirm").CustomID)
	if !strings.Contains(text, "<@1001> confirmed.") || !strings.Contains(text, "✅ Opener gives") {
		t.Fatalf("after alice confirms: %q", text)
	}
	if text, eph, _ := e.component(t, discord.User{ID: 1009, Username: "carol"}, findButton(t, comps, "Confirm").CustomID); !eph || !strings.Contains(text, economy.ErrNotInTrade.Message) {
		t.Fatalf("a stranger confirms: %q", text)
	}
	text, _, comps = e.component(t, bob, findButton(t, comps, "Confirm").CustomID)
	if !strings.Contains(text, "Trade #1: complete") || !strings.Contains(text, "1× **Coffee**") || !strings.Contains(text, "**1,000 credits**") || len(comps) != 0 {
		t.Fatalf("final summary: %q (components %d)", text, len(comps))
	}
	a, _ := e.svc.Balance(context.Background(), int64(alice.ID))
	b, _ := e.svc.Balance(context.Background(), int64(bob.ID))
	if a.Wallet != 10000-1600+1000 || b.Wallet != 10000-1500-1000 {
		t.Fatalf("wallets %d and %d", a.Wallet, b.Wallet)
	}
	for _, forged := range []string{"trade::1", "trade::x:1:confirm", "trade:op:1:1:confirm", "trade::1:1:credits:-5", "trade::1:1:explode"} {
		if text, eph, _ := e.component(t, alice, discord.ComponentID(forged)); !eph || strings.Contains(text, "Something went wrong") {
			t.Errorf("forged %s: %q", forged, text)
		}
	}
	rep, err := economy.Audit(context.Background(), e.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", rep.Err(), err)
	}
}

func TestTradeCommandDeclaresWrites(t *testing.T) {
	e := newEconEnv(t)
	for _, c := range commands.Trade(e.svc) {
		if !c.Writes {
			t.Errorf("/%s changes state: Writes = false", c.Name)
		}
	}
	for _, c := range commands.TradeComponents(e.svc) {
		if !c.Writes {
			t.Errorf("button %q changes state: Writes = false", c.Prefix)
		}
	}
}

// TestTradeMenuPagesEveryStack: with more tradeable stacks than one select
// holds, the window pages its item menu, and every stack of both players
// can be found and offered.
func TestTradeMenuPagesEveryStack(t *testing.T) {
	e := newTradeEnv(t)
	var keys []string
	for _, it := range e.svc.Catalog().Items {
		keys = append(keys, it.Key)
	}
	if len(keys) < 30 {
		t.Fatalf("the catalogue has %d items; the test needs more than 25 stacks", len(keys))
	}
	for _, k := range keys[:28] {
		e.give(t, alice, k, 1)
	}
	for _, k := range keys[28:] {
		e.give(t, bob, k, 1)
	}
	_, _, data := e.reply(t, e.command(alice, "trade", opt{"user", bob}))
	comps := *data.Components
	seen := map[string]string{} // option value -> the select's custom ID
	for range 5 {
		sel := findSelect(t, comps)
		if len(sel.Options) > 25 {
			t.Fatalf("%d options in one select", len(sel.Options))
		}
		for _, o := range sel.Options {
			seen[o.Value] = string(sel.CustomID)
		}
		_, _, comps = e.component(t, bob, findButton(t, comps, "Items ▶").CustomID)
	}
	if len(seen) != len(keys) {
		t.Fatalf("the menu offered %d stacks over its pages, want %d", len(seen), len(keys))
	}
	// One of alice's stacks on the second page can be added, and the
	// window stays on that page.
	last := ""
	for v, id := range seen {
		if strings.HasPrefix(v, "1001:") && strings.HasSuffix(id, ":add:1") {
			last = v
		}
	}
	if last == "" {
		t.Fatalf("none of alice's stacks on the second page: %v", seen)
	}
	text, _, comps := e.component(t, alice, discord.ComponentID(seen[last]), last)
	if !strings.Contains(text, "version 2") {
		t.Fatalf("after adding from page 2: %q", text)
	}
	if sel := findSelect(t, comps); !strings.Contains(sel.Placeholder, "(2 of 2)") {
		t.Fatalf("the menu went back to %q", sel.Placeholder)
	}
	// A stranger may not page the window.
	if text, eph, _ := e.component(t, discord.User{ID: 1009, Username: "carol"}, findButton(t, comps, "Items ▶").CustomID); !eph || !strings.Contains(text, economy.ErrNotInTrade.Message) {
		t.Fatalf("a stranger pages: %q", text)
	}
	for _, forged := range []string{"trade::1:2:items:x", "trade::1:2:items:-1", "trade::1:2:add:x"} {
		if text, eph, _ := e.component(t, alice, discord.ComponentID(forged), last); !eph || strings.Contains(text, "Something went wrong") {
			t.Errorf("forged %s: %q", forged, text)
		}
	}
}

// TestWearShownInTradeAndMarket: an offered or listed tool shows the uses
// left of the most worn one, the one that moves first.
func TestWearShownInTradeAndMarket(t *testing.T) {
	e := newTradeEnv(t)
	cat, err := commands.NewCatalog(append(append(commands.Economy(e.svc), commands.Trade(e.svc)...), commands.Market(e.svc)...),
		append(append(commands.EconomyComponents(e.svc), commands.TradeComponents(e.svc)...), commands.MarketComponents(e.svc)...))
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"}); err != nil {
		t.Fatal(err)
	}
	e.give(t, alice, "pickaxe", 3)
	if _, err := e.pool.Exec(context.Background(), `UPDATE economy.items SET durability = 2
		WHERE id = (SELECT min(id) FROM economy.items WHERE owner_id = $1 AND item_key = 'pickaxe')`, int64(alice.ID)); err != nil {
		t.Fatal(err)
	}
	_, _, data := e.reply(t, e.command(alice, "trade", opt{"user", bob}))
	text, _, _ := e.component(t, alice, findSelect(t, *data.Components).CustomID, "1001:pickaxe")
	if !strings.Contains(text, "1× **Pickaxe** · most worn: 2 uses left") {
		t.Fatalf("trade window: %q", text)
	}
	e.reply(t, e.command(alice, "market sell", opt{"item", "pickaxe"}, opt{"quantity", 1}, opt{"price", 50}))
	if text, _, _ := e.reply(t, e.command(bob, "market browse")); !strings.Contains(text, "**Pickaxe** · most worn: 2 uses left") {
		t.Fatalf("browse: %q", text)
	}
}
