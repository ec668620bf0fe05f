package dashboard_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// The profile page lists the user's companions.
func TestProfileListsCompanions(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	alice := e.login(t, e.alice)
	if b := body(alice.do("GET", "/", nil, nil)); !strings.Contains(b, "No companions yet") {
		t.Fatalf("profile without companions:\n%s", b)
	}
	if code, b := admin.send("POST", "/api/admin/economy/items", map[string]any{"user_id": id(e.alice), "item": "companion_capsule", "quantity": 1, "reason": "companion test"}, nil); code != 200 {
		t.Fatalf("grant a capsule: %d %v", code, b)
	}
	r, err := e.econ.OpenCapsule(context.Background(), economy.Op("dash-capsule"), int64(e.alice.ID), "companion_capsule")
	if err != nil {
		t.Fatal(err)
	}
	b := body(alice.do("GET", "/", nil, nil))
	for _, want := range []string{`id="companions"`, r.Companion.Name, "100%", "ready"} {
		if !strings.Contains(b, want) {
			t.Errorf("profile lacks %q in\n%s", want, b)
		}
	}
	// What it wears shows too.
	if _, err := e.pool.Exec(context.Background(), `UPDATE economy.companions SET skin = 'skin_neon', chassis = 'chassis_light'`); err != nil {
		t.Fatal(err)
	}
	if b := body(alice.do("GET", "/", nil, nil)); !strings.Contains(b, "Neon Skin / Lightweight Chassis") {
		t.Errorf("profile lacks the companion's skin and chassis in\n%s", b)
	}
	// A parent whose egg is incubating shows as breeding.
	if _, err := e.pool.Exec(context.Background(), `UPDATE economy.companions SET breeding_until = now() + interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	if b := body(alice.do("GET", "/", nil, nil)); !strings.Contains(b, "breeding") {
		t.Errorf("profile of a breeding companion lacks \"breeding\" in\n%s", b)
	}
}
