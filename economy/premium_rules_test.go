package economy

import (
	"math"
	"testing"
	"time"
)

// TestPerks: every perk from the catalogue's premium section, with and
// without premium, and a catalogue without the section gives nothing.
func TestPerks(t *testing.T) {
	c := DefaultCatalog()
	free, prem := c.PerksFor(false), c.PerksFor(true)
	cases := []struct {
		name       string
		free, prem any
		want       [2]any
	}{
		{"daily +50%", free.Daily(1000), prem.Daily(1000), [2]any{int64(1000), int64(1500)}},
		{"daily rounds down", free.Daily(333), prem.Daily(333), [2]any{int64(333), int64(499)}},
		{"daily saturates", free.Daily(math.MaxInt64), prem.Daily(math.MaxInt64), [2]any{int64(math.MaxInt64), int64(math.MaxInt64)}},
		{"bank ×2", free.BankCapacity(10000), prem.BankCapacity(10000), [2]any{int64(10000), int64(20000)}},
		{"bank saturates", free.BankCapacity(math.MaxInt64/2 + 1), prem.BankCapacity(math.MaxInt64/2 + 1), [2]any{int64(math.MaxInt64/2 + 1), int64(math.MaxInt64)}},
		{"vault slots", free.VaultCapacity(), prem.VaultCapacity(), [2]any{c.VaultCapacity, 20}},
		{"companions", free.MaxCompanions(), prem.MaxCompanions(), [2]any{c.Companions.MaxOwned, 20}},
		{"work cooldown", free.WorkCooldown(30 * time.Minute), prem.WorkCooldown(30 * time.Minute), [2]any{30 * time.Minute, 15 * time.Minute}},
		{"premium-only cosmetic", free.CanBuy("skin_aurora"), prem.CanBuy("skin_aurora"), [2]any{false, true}},
		{"ordinary cosmetic", free.CanBuy("skin_camo"), prem.CanBuy("skin_camo"), [2]any{true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.free != tc.want[0] || tc.prem != tc.want[1] {
				t.Fatalf("free %v, premium %v; want %v", tc.free, tc.prem, tc.want)
			}
		})
	}
	bare := *c
	bare.Premium = PremiumRules{}
	if p := bare.PerksFor(true); p.Premium || p.Daily(1000) != 1000 || p.BankCapacity(10) != 10 {
		t.Fatalf("a catalogue without premium gave perks: %+v", p)
	}
}

// TestPremiumRulesValidate: a premium section that names what is not
// there, or lowers a limit, is refused.
func TestPremiumRulesValidate(t *testing.T) {
	c := DefaultCatalog()
	good := c.Premium
	cases := []struct {
		name   string
		change func(r *PremiumRules)
	}{
		{"multiplier 0", func(r *PremiumRules) { r.BankCapacityMultiplier = 0; r.DailyBonusPercent = 1 }},
		{"fewer vault slots", func(r *PremiumRules) { r.VaultCapacity = c.VaultCapacity - 1 }},
		{"fewer companions", func(r *PremiumRules) { r.MaxCompanions = c.Companions.MaxOwned - 1 }},
		{"cooldown 0%", func(r *PremiumRules) { r.WorkCooldownPercent = 0 }},
		{"longer cooldown", func(r *PremiumRules) { r.WorkCooldownPercent = 101 }},
		{"unknown cosmetic", func(r *PremiumRules) { r.Cosmetics = []string{"skin_nope"} }},
		{"cosmetic not sold", func(r *PremiumRules) { r.Cosmetics = []string{"skin_gilded"} }},
		{"pack of tools", func(r *PremiumRules) { r.Pack = []string{"coffee"} }},
		{"boost of nothing", func(r *PremiumRules) { r.Boost = BoostRule{Item: "coffee"} }},
	}
	if errs := good.validate(c); len(errs) != 0 {
		t.Fatalf("the shipped rules: %v", errs)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := good
			tc.change(&r)
			if errs := r.validate(c); len(errs) == 0 {
				t.Fatal("accepted")
			}
		})
	}
}

// TestEntitlementActive: deleted, consumed, not yet started and ended
// entitlements grant nothing; one without dates grants until told otherwise.
func TestEntitlementActive(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	yes, no := true, false
	cases := []struct {
		name string
		e    Entitlement
		want bool
	}{
		{"no dates", Entitlement{}, true},
		{"running", Entitlement{StartsAt: &past}, true},
		{"ends later", Entitlement{StartsAt: &past, EndsAt: &future}, true},
		{"ended", Entitlement{StartsAt: &past, EndsAt: &past}, false},
		{"ends now", Entitlement{EndsAt: &now}, false},
		{"not started", Entitlement{StartsAt: &future}, false},
		{"deleted", Entitlement{Deleted: true}, false},
		{"unconsumed", Entitlement{Consumed: &no}, true},
		{"consumed", Entitlement{Consumed: &yes}, false},
	}
	for _, tc := range cases {
		if got := tc.e.ActiveAt(now); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	k := PremiumSKUs{Subscription: 5, Pack: 2, Boost: 3}
	for sku, want := range map[int64]string{5: SKURoleSubscription, 2: SKURolePack, 3: SKURoleBoost, 9: "", 0: ""} {
		if got := k.Role(sku); got != want {
			t.Errorf("role of %d: %q, want %q", sku, got, want)
		}
	}
	if got := (PremiumSKUs{}).Role(0); got != "" {
		t.Errorf("an unset SKU matched %q", got)
	}
}
