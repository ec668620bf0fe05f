package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
)

// TestShopMenus: /shop's category and item selects, the Buy buttons (a
// double click buys once), the quantity modal, and refusals for bad input
// and other users' menus.
func TestShopMenus(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	e.fund(t, alice, 10_000)
	text, _, data := e.reply(t, e.command(alice, "shop"))
	c := controlsOf(data)
	if !strings.Contains(text, "Pickaxe") || c["Browse a category"] == "" || c["Pick an item to buy"] == "" {
		t.Fatalf("/shop: %q %v", text, c)
	}
	// The category select narrows the item select.
	text, _, data = e.reply(t, e.click(alice, c["Browse a category"], "tools"))
	if !strings.Contains(text, "Tools") || strings.Contains(text, "Coffee") || e.last(t).Type != api.UpdateMessage {
		t.Fatalf("tools page: %q", text)
	}
	c = controlsOf(data)
	text, _, data = e.reply(t, e.click(alice, c["Pick an item to buy"], "pickaxe"))
	c = controlsOf(data)
	if !strings.Contains(text, "Shop · Pickaxe") || c["Buy 1"] == "" || c["Quantity…"] == "" {
		t.Fatalf("pickaxe page: %q %v", text, c)
	}
	before := e.wallet(t, alice)
	text, _, data = e.reply(t, e.click(alice, c["Buy 1"]))
	if !strings.Contains(text, "You bought 1× **Pickaxe**") {
		t.Fatalf("buy 1: %q", text)
	}
	price := before - e.wallet(t, alice)
	if price <= 0 {
		t.Fatalf("nothing paid")
	}
	// A double click on the same rendering is the same purchase.
	if text, _, _ := e.reply(t, e.click(alice, c["Buy 1"])); !strings.Contains(text, "You bought 1×") {
		t.Fatalf("second click: %q", text)
	}
	if spent := before - e.wallet(t, alice); spent != price {
		t.Fatalf("a double click spent %d, want %d", spent, price)
	}
	fresh := controlsOf(data)
	if fresh["Buy 1"] == c["Buy 1"] {
		t.Fatal("the receipt kept the old buttons")
	}
	// Bob cannot use alice's shop.
	if text, eph, _ := e.reply(t, e.click(bob, fresh["Buy 5"])); !eph || !strings.Contains(text, "someone else") {
		t.Fatalf("bob's press: %q", text)
	}
	// Quantity…: a modal, then its submission buys.
	e.reply(t, e.click(alice, fresh["Quantity…"]))
	modal := e.last(t)
	if modal.Type != api.ModalResponse || modal.Data.CustomID == nil || modal.Data.Components == nil || len(*modal.Data.Components) != 1 {
		t.Fatalf("quantity button answered %+v", modal)
	}
	modalID := discord.ComponentID(modal.Data.CustomID.Val)
	for _, bad := range []string{"0", "101", "two", ""} {
		if text, eph, _ := e.reply(t, e.submit(alice, modalID, map[string]string{"quantity": bad})); !eph || !strings.Contains(text, "whole number from 1 to 100") {
			t.Fatalf("quantity %q: %q", bad, text)
		}
	}
	before = e.wallet(t, alice)
	if text, _, _ := e.reply(t, e.submit(alice, modalID, map[string]string{"quantity": "3"})); !strings.Contains(text, "You bought 3× **Pickaxe**") {
		t.Fatalf("modal purchase: %q", text)
	}
	if spent := before - e.wallet(t, alice); spent != 3*price {
		t.Fatalf("the modal's purchase spent %d, want %d", spent, 3*price)
	}
	// Too poor: a clear refusal, nothing bought.
	e.fund(t, bob, 10)
	_, _, data = e.reply(t, e.command(bob, "shop"))
	_, _, data = e.reply(t, e.click(bob, controlsOf(data)["Pick an item to buy"], "pickaxe"))
	bc := controlsOf(data)
	if text, eph, _ := e.reply(t, e.submit(bob, discord.ComponentID("shopmodal:1:"+bob.ID.String()+":pickaxe"), map[string]string{"quantity": "1"})); !eph || text == "" {
		t.Fatalf("a purchase bob cannot afford: %q", text)
	}
	if e.wallet(t, bob) != 10 || bc["Buy 1"] == "" {
		t.Fatalf("bob's wallet changed")
	}
	if text, eph, _ := e.reply(t, e.click(alice, discord.ComponentID("shopitem:"+alice.ID.String()+":"), "not_an_item")); !eph || !strings.Contains(text, "not sold") {
		t.Fatalf("forged item: %q", text)
	}
}

// TestHelpMenu: /help's categories, a category's commands, a command's
// page with examples, and the owner check.
func TestHelpMenu(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	text, eph, data := e.reply(t, e.command(alice, "help"))
	c := controlsOf(data)
	if !eph || !strings.Contains(text, "Economy") || !strings.Contains(text, "/cooldowns") || c["Choose a category"] == "" {
		t.Fatalf("/help: %q %v", text, c)
	}
	text, _, data = e.reply(t, e.click(alice, c["Choose a category"], "economy"))
	c = controlsOf(data)
	if !strings.Contains(text, "/pay") || strings.Contains(text, "/shop") || c["Choose a command"] == "" {
		t.Fatalf("economy page: %q", text)
	}
	text, _, _ = e.reply(t, e.click(alice, c["Choose a command"], "pay"))
	for _, want := range []string{"/pay", "`amount`", "Confirm", "Examples", "/pay user:@friend amount:1.5k"} {
		if !strings.Contains(text, want) {
			t.Errorf("pay page lacks %q: %q", want, text)
		}
	}
	if text, eph, _ := e.reply(t, e.click(bob, c["Choose a command"], "pay")); !eph || !strings.Contains(text, "someone else") {
		t.Fatalf("bob's pick: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "help", opt{"command", "nope"})); !eph || !strings.Contains(text, "no command /nope") {
		t.Fatalf("unknown command: %q", text)
	}
	if text, _, _ := e.reply(t, e.command(alice, "help", opt{"command", "/bank deposit"})); !strings.Contains(text, "/bank deposit amount:1.5k") {
		t.Fatalf("/help bank: %q", text)
	}
	// /work's page says what each job pays and how often.
	job := e.svc.Catalog().Jobs[0]
	if text, _, _ := e.reply(t, e.command(alice, "help", opt{"command", "work"})); !strings.Contains(text, "**"+job.Name+"**") || !strings.Contains(text, "once every") {
		t.Fatalf("/help work: %q", text)
	}
	if text, _, _ := e.reply(t, e.command(alice, "help", opt{"command", "gather"})); !strings.Contains(text, "Pickaxe") || !strings.Contains(text, "Once every") {
		t.Fatalf("/help gather: %q", text)
	}
}

// TestCooldownsCommand: /cooldowns lists every timer, and a shift worked
// shows its job waiting while the others are ready.
func TestCooldownsCommand(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	text, eph, _ := e.reply(t, e.command(alice, "cooldowns"))
	if eph || !strings.Contains(text, "Daily reward**: ready") || !strings.Contains(text, "Gather**: ready") {
		t.Fatalf("fresh user: %q", text)
	}
	job := e.svc.Catalog().Jobs[0]
	e.reply(t, e.command(alice, "work", opt{"job", job.Key}))
	e.reply(t, e.command(alice, "daily"))
	text, _, _ = e.reply(t, e.command(alice, "cooldowns"))
	if !strings.Contains(text, "⏳ **Work: "+job.Name+"**: <t:") || !strings.Contains(text, "⏳ **Daily reward**") {
		t.Fatalf("after work and daily: %q", text)
	}
	timers, err := e.svc.Timers(context.Background(), int64(alice.ID))
	if err != nil || len(timers) < 3 {
		t.Fatalf("timers = %v, %v", timers, err)
	}
}
