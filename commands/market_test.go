package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// newMarketEnv is newEconEnv with /market registered.
func newMarketEnv(t testing.TB) *econEnv {
	t.Helper()
	e := newEconEnv(t)
	cmds := append([]*commands.Command{commands.Help(commands.EconomyHelp())}, commands.Economy(e.svc)...)
	cat, err := commands.NewCatalog(append(cmds, commands.Market(e.svc)...),
		append(commands.EconomyComponents(e.svc), commands.MarketComponents(e.svc)...))
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestMarketCommandsDeclareWrites classifies /market's subcommands and
// buttons as TestEveryCommandDeclaresWrites does for the rest.
func TestMarketCommandsDeclareWrites(t *testing.T) {
	e := newEconEnv(t)
	want := map[string]bool{"sell": true, "sellcompanion": true, "browse": false, "buy": true, "cancel": true, "mine": false, "price": false}
	cmds := commands.Market(e.svc)
	if len(cmds) != 1 || cmds[0].Name != "market" || len(cmds[0].Subcommands) != len(want) {
		t.Fatalf("market commands: %+v", cmds)
	}
	for _, s := range cmds[0].Subcommands {
		if w, ok := want[s.Name]; !ok || w != s.Writes {
			t.Errorf("/market %s: Writes = %v, want %v (classified: %v)", s.Name, s.Writes, w, ok)
		}
	}
	for _, c := range commands.MarketComponents(e.svc) {
		if c.Writes {
			t.Errorf("button %q pages through listings: Writes = true, want false", c.Prefix)
		}
	}
}

func TestMarketCommands(t *testing.T) {
	e := newMarketEnv(t)
	e.fund(t, alice, 20000)
	e.fund(t, bob, 20000)
	// alice buys 3 coffees from the shop to list them.
	if text, _, _ := e.reply(t, e.command(alice, "buy", opt{"item", "coffee"}, opt{"quantity", 3})); !strings.Contains(text, "You bought 3×") {
		t.Fatal(text)
	}
	steps := []struct {
		name      string
		ev        *discord.InteractionEvent
		contains  []string
		ephemeral bool
	}{
		{"sell", e.command(alice, "market sell", opt{"item", "Coffee"}, opt{"quantity", 2}, opt{"price", 1000}),
			[]string{"Listing **#1**: 2× **Coffee** at 1,000 credits each.", "You receive per item: 950 credits after the fee"}, false},
		{"listed items are not usable", e.command(alice, "use", opt{"item", "coffee"}), []string{"Used Coffee"}, false},
		{"the rest is in escrow", e.command(alice, "use", opt{"item", "coffee"}), []string{"You have no Coffee to use"}, true},
		{"sell what you lack", e.command(alice, "market sell", opt{"item", "diamond"}, opt{"quantity", 1}, opt{"price", 5}),
			[]string{economy.ErrNotEnoughItems.Message}, true},
		{"sell an unknown item", e.command(alice, "market sell", opt{"item", "unicorn"}, opt{"quantity", 1}, opt{"price", 5}),
			[]string{"There is no item called \"unicorn\""}, true},
		{"zero price", e.command(alice, "market sell", opt{"item", "coffee"}, opt{"quantity", 1}, opt{"price", 0}), []string{"price"}, true},
		{"negative price", e.command(alice, "market sell", opt{"item", "coffee"}, opt{"quantity", 1}, opt{"price", -5}), []string{"price"}, true},
		{"price past the cap", e.command(alice, "market sell", opt{"item", "coffee"}, opt{"quantity", 1}, opt{"price", 1_000_000_000_001}), []string{"price"}, true},
		{"negative quantity", e.command(alice, "market sell", opt{"item", "coffee"}, opt{"quantity", -1}, opt{"price", 5}), []string{"quantity"}, true},
		{"browse", e.command(bob, "market browse"), []string{"**#1** 2× **Coffee**", "1,000 credits each", "by <@1001>", "Page 1 of 1"}, false},
		{"browse by item", e.command(bob, "market browse", opt{"item", "pickaxe"}), []string{"Market: Pickaxe", "No open listings"}, false},
		{"buy your own", e.command(alice, "market buy", opt{"listing", 1}), []string{economy.ErrOwnListing.Message}, true},
		{"buy more than listed", e.command(bob, "market buy", opt{"listing", 1}, opt{"quantity", 5}), []string{"Only 2 left on that listing."}, true},
		{"buy part", e.command(bob, "market buy", opt{"listing", 1}, opt{"quantity", 1}),
			[]string{"You bought 1× **Coffee** from <@1001> for 1,000 credits.", "Listing: #1 (1 left)", "Your wallet: 19,000 credits"}, false},
		{"buy a missing listing", e.command(bob, "market buy", opt{"listing", 77}), []string{economy.ErrNoListing.Message}, true},
		{"mine", e.command(alice, "market mine"), []string{"**#1** 1 of 2× **Coffee**", "Open: 1 / 20"}, false},
		{"cancel another's", e.command(bob, "market cancel", opt{"listing", 1}), []string{economy.ErrNotYourListing.Message}, true},
		{"cancel", e.command(alice, "market cancel", opt{"listing", 1}), []string{"1× **Coffee** are back in your inventory"}, false},
		{"buy after cancel", e.command(bob, "market buy", opt{"listing", 1}), []string{economy.ErrListingClosed.Message}, true},
		{"price", e.command(bob, "market price", opt{"item", "coffee"}),
			[]string{"Market price: Coffee", "1× at 1,000 credits", "7-day median: 1,000 credits", "7-day volume: 1 item(s), 1,000 credits", "Cheapest listing: none"}, false},
		{"help", e.command(bob, "help", opt{"command", "market"}), []string{"/market sell", "5% market fee"}, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			text, eph, _ := e.reply(t, s.ev)
			for _, want := range s.contains {
				if !strings.Contains(text, want) {
					t.Errorf("reply %q lacks %q", text, want)
				}
			}
			if eph != s.ephemeral {
				t.Errorf("ephemeral = %v, want %v (reply %q)", eph, s.ephemeral, text)
			}
		})
	}
	if a, _ := e.svc.Balance(context.Background(), int64(alice.ID)); a.Wallet != 20000-2400+950 {
		t.Errorf("alice's wallet %d, want %d", a.Wallet, 20000-2400+950)
	}
	rep, err := economy.Audit(context.Background(), e.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", rep.Err(), err)
	}
}

func TestMarketBrowsePager(t *testing.T) {
	e := newMarketEnv(t)
	e.fund(t, alice, 100000)
	e.reply(t, e.command(alice, "buy", opt{"item", "coffee"}, opt{"quantity", 12}))
	for i := 0; i < 12; i++ {
		e.reply(t, e.command(alice, "market sell", opt{"item", "coffee"}, opt{"quantity", 1}, opt{"price", 100 + i}))
	}
	text, _, data := e.reply(t, e.command(bob, "market browse", opt{"item", "coffee"}, opt{"sort", "priciest"}))
	if !strings.Contains(text, "Page 1 of 2") || !strings.HasPrefix(strings.SplitN(text, "**#", 2)[1], "12**") {
		t.Fatalf("first page, priciest first: %q", text)
	}
	next := findButton(t, *data.Components, "Next ▶")
	press := func(from discord.User, id discord.ComponentID) (string, bool) {
		u := from
		ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", User: &u,
			Data: &discord.ButtonInteraction{CustomID: id}}
		text, eph, _ := e.reply(t, ev)
		return text, eph
	}
	text, _ = press(bob, next.CustomID)
	if !strings.Contains(text, "Page 2 of 2") || !strings.Contains(text, "Market: Coffee") || !strings.Contains(text, "101 credits each") ||
		strings.Contains(text, "111 credits") {
		t.Fatalf("second page keeps the sort and filter: %q", text)
	}
	if text, eph := press(alice, next.CustomID); !eph || !strings.Contains(text, "belong to someone else") {
		t.Fatalf("another user's press: %q", text)
	}
	for _, forged := range []string{"mktb:1002:1", "mktb:1002:1:random:", "mktb:1002:1:cheapest:unicorn", "mktb:1002:-1:cheapest:"} {
		if text, eph := press(bob, discord.ComponentID(forged)); !eph || strings.Contains(text, "Something went wrong") {
			t.Errorf("forged %s: %q", forged, text)
		}
	}
}
