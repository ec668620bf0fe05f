package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/dashboard"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// premiumSKUs are the SKUs the dashboard tests' economy sells.
var premiumSKUs = economy.PremiumSKUs{Subscription: 7001}

// TestDashboardShowsPremium: the account API and the home page show
// whether premium perks apply, with the bank capacity they give.
func TestDashboardShowsPremium(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login(t, e.alice)
	me := func() dashboard.AccountView {
		t.Helper()
		var v struct {
			Account dashboard.AccountView `json:"account"`
		}
		if code := c.get("/api/me", &v); code != 200 {
			t.Fatalf("/api/me: %d", code)
		}
		return v.Account
	}
	free := me()
	if free.Premium {
		t.Fatalf("premium without an entitlement: %+v", free)
	}
	if b := body(c.do("GET", "/", nil, nil)); !strings.Contains(b, `id="premium">None`) {
		t.Fatalf("home page without premium status:\n%s", b)
	}
	if err := e.econ.RecordEntitlements(context.Background(), []economy.Entitlement{
		{ID: 1, SKUID: premiumSKUs.Subscription, UserID: int64(e.alice.ID), Type: 8}}); err != nil {
		t.Fatal(err)
	}
	if got := me(); !got.Premium || got.BankCapacity != 2*free.BankCapacity {
		t.Fatalf("premium account %+v, free %+v", got, free)
	}
	if b := body(c.do("GET", "/", nil, nil)); !strings.Contains(b, `id="premium">Active`) {
		t.Fatalf("home page without the active status:\n%s", b)
	}
}
