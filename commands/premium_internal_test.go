package commands

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// TestPremiumReply: the premium button is sent as the components reference
// wants it (style 6, sku_id, nothing else) and offered for what the user
// can still buy; the perks come from the catalogue.
func TestPremiumReply(t *testing.T) {
	cat := economy.DefaultCatalog()
	skus := economy.PremiumSKUs{Subscription: 11, Pack: 12, Boost: 13}
	until := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name    string
		skus    economy.PremiumSKUs
		st      economy.PremiumStatus
		buttons []string
		text    string
	}{
		{"none", skus, economy.PremiumStatus{Perks: cat.PerksFor(false)}, []string{"11", "12", "13"}, "You do not have premium"},
		{"subscribed, pack bought", skus, economy.PremiumStatus{Perks: cat.PerksFor(true), Pack: true}, []string{"13"}, "**active**"},
		{"ending", skus, economy.PremiumStatus{Perks: cat.PerksFor(true), Until: &until}, []string{"12", "13"}, "active** until"},
		{"not sold", economy.PremiumSKUs{}, economy.PremiumStatus{Perks: cat.PerksFor(false)}, nil, "not sold here"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := premiumReply(cat, tc.skus, tc.st)
			b, err := json.Marshal(r.Components)
			if err != nil {
				t.Fatal(err)
			}
			var rows []struct {
				Components []map[string]any `json:"components"`
			}
			_ = json.Unmarshal(b, &rows)
			var got []string
			for _, row := range rows {
				for _, c := range row.Components {
					if len(c) != 3 || c["type"] != float64(discord.ButtonComponentType) || c["style"] != float64(6) {
						t.Fatalf("button %v: want exactly type 2, style 6 and sku_id", c)
					}
					got = append(got, c["sku_id"].(string))
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.buttons, ",") {
				t.Fatalf("buttons %v, want %v", got, tc.buttons)
			}
			desc := r.Embeds[0].Description + r.Embeds[0].Fields[0].Value
			if !strings.Contains(desc, tc.text) || !strings.Contains(desc, "+50% on `/daily`") || !strings.Contains(desc, "Aurora Skin") {
				t.Fatalf("text %q, want %q and the perks", desc, tc.text)
			}
		})
	}
}

// TestShopMarksPremiumOnly: /shop says which cosmetics need premium.
func TestShopMarksPremiumOnly(t *testing.T) {
	r, err := (&econ{cat: economy.DefaultCatalog()}).shop(t.Context(), &Invocation{User: discord.User{ID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(r.Embeds[0].Description, "\n") {
		premium := strings.Contains(line, "Premium only")
		if want := strings.Contains(line, "Aurora Skin") || strings.Contains(line, "Prism Chassis"); premium != want {
			t.Errorf("%q: premium-only mark %v, want %v", line, premium, want)
		}
	}
}
