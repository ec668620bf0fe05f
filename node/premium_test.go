package node_test

import (
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/node"
)

// TestParsePremiumSKUs: PREMIUM_SKUS names each role once, by a positive
// SKU ID; anything else is refused with the part at fault.
func TestParsePremiumSKUs(t *testing.T) {
	cases := []struct {
		in   string
		want economy.PremiumSKUs
		ok   bool
	}{
		{"", economy.PremiumSKUs{}, true},
		{"subscription=11", economy.PremiumSKUs{Subscription: 11}, true},
		{" subscription = 11 , pack=12,boost=13 ", economy.PremiumSKUs{Subscription: 11, Pack: 12, Boost: 13}, true},
		{"subscription", economy.PremiumSKUs{}, false},
		{"subscription=x", economy.PremiumSKUs{}, false},
		{"subscription=-1", economy.PremiumSKUs{}, false},
		{"gold=11", economy.PremiumSKUs{}, false},
		{"subscription=11,subscription=12", economy.PremiumSKUs{}, false},
		{"subscription=11,pack=11", economy.PremiumSKUs{}, false},
	}
	for _, tc := range cases {
		got, err := node.ParsePremiumSKUs(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %+v, %v; want %+v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
	f := node.DefaultFlags()
	f.DiscordToken, f.PostgresURL, f.RedisURL, f.EtcdEndpoints = "t", "postgres://localhost/x", "redis://localhost:6379/0", "http://localhost:2379"
	f.PremiumSKUs = "gold=1"
	if _, err := f.Load(); err == nil || !strings.Contains(err.Error(), "PREMIUM_SKUS") {
		t.Fatalf("a bad PREMIUM_SKUS: %v", err)
	}
}
