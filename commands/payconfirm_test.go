package commands_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
)

// TestLargePaymentConfirmation: /pay of a large amount waits for the
// payer's Confirm; the payment happens once, Cancel stops it, a stranger
// cannot press, and small payments go through at once.
func TestLargePaymentConfirmation(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	e.fund(t, alice, 100_000)
	startBob := e.wallet(t, bob)

	// A small payment needs no confirmation.
	if text, eph, _ := e.reply(t, e.command(alice, "pay", opt{"user", bob}, opt{"amount", "500"})); eph || !strings.Contains(text, "Payment sent") {
		t.Fatalf("small payment: %q", text)
	}
	ask := func(amount string) map[string]discord.ComponentID {
		t.Helper()
		text, eph, data := e.reply(t, e.command(alice, "pay", opt{"user", bob}, opt{"amount", amount}))
		b := controlsOf(data)
		if eph || !strings.Contains(text, "Confirm a large payment") || b["Confirm"] == "" || b["Cancel"] == "" {
			t.Fatalf("/pay %s: %q %v", amount, text, b)
		}
		return b
	}
	b := ask("20k")
	if got := e.wallet(t, bob); got != startBob+500 {
		t.Fatalf("bob has %d before the confirmation, want %d", got, startBob+500)
	}
	// Bob cannot confirm alice's payment, and his press uses nothing up.
	if text, eph, _ := e.reply(t, e.click(bob, b["Confirm"])); !eph || !strings.Contains(text, "Only") {
		t.Fatalf("bob's press: %q", text)
	}
	text, eph, data := e.reply(t, e.click(alice, b["Confirm"]))
	if eph || !strings.Contains(text, "Payment sent") || !strings.Contains(text, "20,000 credits") || data.Components == nil || len(*data.Components) != 0 {
		t.Fatalf("confirm: %q %+v", text, data)
	}
	if e.last(t).Type != api.UpdateMessage {
		t.Fatalf("confirm answered with type %d, want an update of the message", e.last(t).Type)
	}
	// A double click, or Cancel after Confirm, changes nothing.
	for _, label := range []string{"Confirm", "Cancel"} {
		if text, eph, _ := e.reply(t, e.click(alice, b[label])); !eph || !strings.Contains(text, "already done") {
			t.Fatalf("%s after the confirmation: %q", label, text)
		}
	}
	if got := e.wallet(t, bob); got != startBob+20_500 {
		t.Fatalf("bob has %d, want %d: the payment happened other than once", got, startBob+20_500)
	}

	// Cancel, then Confirm: nothing is paid.
	b = ask("all")
	if text, _, _ := e.reply(t, e.click(alice, b["Cancel"])); !strings.Contains(text, "Payment cancelled") {
		t.Fatalf("cancel: %q", text)
	}
	if text, eph, _ := e.reply(t, e.click(alice, b["Confirm"])); !eph || !strings.Contains(text, "already done") {
		t.Fatalf("confirm after cancel: %q", text)
	}
	if got := e.wallet(t, bob); got != startBob+20_500 {
		t.Fatalf("bob has %d after a cancelled payment", got)
	}

	// More than half the wallet from 1,000 asks too; an expired button,
	// or a forged one, pays nothing.
	b = ask("50000")
	parts := strings.Split(string(b["Confirm"]), ":")
	parts[1] = discord.NewSnowflake(time.Now().Add(-10 * time.Minute)).String()
	if text, _, _ := e.reply(t, e.click(alice, discord.ComponentID(strings.Join(parts, ":")))); !strings.Contains(text, "expired") {
		t.Fatalf("expired confirmation: %q", text)
	}
	if text, eph, _ := e.reply(t, e.click(alice, "payconfirm:1:2:x")); !eph || !strings.Contains(text, "expired") {
		t.Fatalf("forged confirmation: %q", text)
	}
	if got := e.wallet(t, bob); got != startBob+20_500 {
		t.Fatalf("bob has %d after an expired confirmation", got)
	}
}

// TestPayConfirmAcrossNodes: Confirm pressed at once on two nodes (two
// routers over one PostgreSQL and one Redis, as a double click may land)
// pays once; the other press is told it was already done.
func TestPayConfirmAcrossNodes(t *testing.T) {
	t.Parallel()
	e := newUIEnv(t)
	other, otherRec := uiRouter(t, e.svc, e.redis, "node-b")
	e.fund(t, alice, 50_000)
	start := e.wallet(t, bob)
	_, _, data := e.reply(t, e.command(alice, "pay", opt{"user", bob}, opt{"amount", "30000"}))
	confirm := controlsOf(data)["Confirm"]
	if confirm == "" {
		t.Fatal("no Confirm button")
	}
	for round := 0; round < 5; round++ {
		a, b := e.click(alice, confirm), e.click(alice, confirm)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); e.router.Handle(context.Background(), a, 0) }()
		go func() { defer wg.Done(); other.Handle(context.Background(), b, 1) }()
		wg.Wait()
	}
	var sent, done int
	for _, rec := range []*recorder{e.rec, otherRec} {
		rec.mu.Lock()
		for _, r := range rec.resps {
			switch {
			case r.Data.Embeds != nil && len(*r.Data.Embeds) > 0 && (*r.Data.Embeds)[0].Title == "Payment sent":
				sent++
			case r.Data.Content != nil && strings.Contains(r.Data.Content.Val, "already done"):
				done++
			}
		}
		rec.mu.Unlock()
	}
	if sent != 1 || done != 9 {
		t.Fatalf("%d payments sent and %d presses refused, want 1 and 9", sent, done)
	}
	if got := e.wallet(t, bob); got != start+30_000 {
		t.Fatalf("bob has %d, want %d", got, start+30_000)
	}
}
