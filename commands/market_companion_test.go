package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// newCompanionMarketEnv is newEconEnv with /market, /trade and their
// components registered.
func newCompanionMarketEnv(t *testing.T) *econEnv {
	t.Helper()
	e := newEconEnv(t)
	cat, err := commands.NewCatalog(append(append(commands.Economy(e.svc), commands.Market(e.svc)...), commands.Trade(e.svc)...),
		append(append(commands.EconomyComponents(e.svc), commands.MarketComponents(e.svc)...), commands.TradeComponents(e.svc)...))
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A companion goes through the market from alice to bob, then back over a
// trade window, with every reply naming it.
func TestCompanionMarketAndTradeCommands(t *testing.T) {
	ctx := context.Background()
	e := newCompanionMarketEnv(t)
	e.fund(t, alice, 10000)
	e.fund(t, bob, 10000)
	if _, err := e.svc.Buy(ctx, "cm-buy", int64(alice.ID), "companion_capsule", 1); err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.OpenCapsule(ctx, "cm-open", int64(alice.ID), "companion_capsule")
	if err != nil {
		t.Fatal(err)
	}
	c := r.Companion
	m, _ := e.svc.Catalog().Model(c.Model)
	named := fmt.Sprintf("**%s** (%s, level 1)", c.Name, m.Name)

	for _, step := range []struct {
		name      string
		from      string
		args      []opt
		cmd       string
		contains  string
		ephemeral bool
	}{
		{"list at no price", "alice", []opt{{"companion", c.Name}, {"price", 0}}, "market sellcompanion", "price", true},
		{"list one you lack", "alice", []opt{{"companion", "Nobody"}, {"price", 5}}, "market sellcompanion", "no companion called", true},
		{"list", "alice", []opt{{"companion", c.Name}, {"price", 1000}}, "market sellcompanion", "Listing **#1**: " + named + " at 1,000 credits.", false},
		{"list again", "alice", []opt{{"companion", c.Name}, {"price", 1000}}, "market sellcompanion", "listed on the market (listing 1)", true},
		{"browse", "bob", nil, "market browse", "**#1** " + named, false},
		{"mine", "alice", nil, "market mine", "**#1** " + named, false},
		{"buy", "bob", []opt{{"listing", 1}}, "market buy", "You bought the companion " + named + " from <@1001> for 1,000 credits.", false},
	} {
		user := alice
		if step.from == "bob" {
			user = bob
		}
		text, eph, _ := e.reply(t, e.command(user, step.cmd, step.args...))
		if eph != step.ephemeral || !strings.Contains(text, step.contains) {
			t.Fatalf("%s: %q (ephemeral %v), want %q", step.name, text, eph, step.contains)
		}
	}

	// bob offers it back in a trade window for credits.
	text, _, data := e.reply(t, e.command(bob, "trade", opt{"user", alice}))
	if data.Components == nil {
		t.Fatalf("window: %q", text)
	}
	sel := findSelect(t, *data.Components)
	offer, take := fmt.Sprintf("1002:c+%d", c.ID), fmt.Sprintf("1002:c-%d", c.ID)
	if !hasValue(sel.Options, offer) {
		t.Fatalf("menu %+v lacks bob's companion %s", sel.Options, offer)
	}
	if text, eph, _ := e.component(t, alice, sel.CustomID, offer); !eph || !strings.Contains(text, "your own items") {
		t.Fatalf("alice picks bob's companion: %q", text)
	}
	text, _, comps := e.component(t, bob, sel.CustomID, offer)
	if !strings.Contains(text, "🤖 **"+c.Name+"**") || !strings.Contains(text, "version 2") {
		t.Fatalf("after bob offers: %q", text)
	}
	if sel = findSelect(t, comps); !hasValue(sel.Options, take) {
		t.Fatalf("menu %+v lacks taking back %s", sel.Options, take)
	}
	text, _, comps = e.component(t, alice, findButton(t, comps, "+1,000 credits").CustomID)
	if !strings.Contains(text, "version 3") {
		t.Fatalf("after alice's credits: %q", text)
	}
	e.component(t, alice, findButton(t, comps, "Confirm").CustomID)
	text, _, _ = e.component(t, bob, findButton(t, comps, "Confirm").CustomID)
	if !strings.Contains(text, "complete") || !strings.Contains(text, "🤖 **"+c.Name+"**") {
		t.Fatalf("final summary: %q", text)
	}
	all, err := e.svc.Companions(ctx, int64(alice.ID))
	if err != nil || len(all) != 1 || all[0].ID != c.ID {
		t.Fatalf("alice's companions after the trade: %+v %v", all, err)
	}
	rep, err := economy.Audit(ctx, e.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", rep.Err(), err)
	}
}

func hasValue(options []discord.SelectOption, v string) bool {
	for _, o := range options {
		if o.Value == v {
			return true
		}
	}
	return false
}
