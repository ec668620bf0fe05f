package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// TestPremiumPerksInReplies: a premium user's /balance, /bank view,
// /companion list and /premium show the perks; another user's do not.
func TestPremiumPerksInReplies(t *testing.T) {
	skus := economy.PremiumSKUs{Subscription: 501, Pack: 502, Boost: 503}
	e := newEconEnvWith(t, economy.Config{Premium: skus})
	ccmds, ccomps := commands.Companions(e.svc)
	all := append(commands.Economy(e.svc), append(ccmds, commands.Premium(e.svc)...)...)
	cat, err := commands.NewCatalog(all, append(commands.EconomyComponents(e.svc), ccomps...))
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RecordEntitlements(context.Background(), []economy.Entitlement{
		{ID: 9, SKUID: skus.Subscription, UserID: int64(alice.ID), Type: 8}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path       string
		prem, free []string
	}{
		{"balance", []string{"Premium:", "/ 20,000 credits"}, []string{"/ 10,000 credits"}},
		{"bank view", []string{"Capacity: 20,000 credits", "Premium:"}, []string{"Capacity: 10,000 credits"}},
		{"companion list", []string{"0 of 20"}, []string{"0 of 10"}},
		{"premium", []string{"**active**"}, []string{"You do not have premium"}},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			prem, _, _ := e.reply(t, e.command(alice, tc.path))
			free, _, d := e.reply(t, e.command(bob, tc.path))
			for _, want := range tc.prem {
				if !strings.Contains(prem, want) {
					t.Errorf("premium reply lacks %q:\n%s", want, prem)
				}
			}
			for _, want := range tc.free {
				if !strings.Contains(free, want) {
					t.Errorf("free reply lacks %q:\n%s", want, free)
				}
			}
			if strings.Contains(free, "Premium:") {
				t.Errorf("free reply shows premium:\n%s", free)
			}
			if tc.path == "premium" && (d.Components == nil || len(*d.Components) != 1) {
				t.Errorf("/premium for a free user offers no premium button")
			}
		})
	}
}
