package dashboard_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/dashboard"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// testEvents is the dashboard tests' calendar: one event in 2030, so that
// it changes no play of the other tests.
func testEvents(t testing.TB) *economy.Events {
	t.Helper()
	cal, err := economy.ParseCalendar([]byte(`{"events": [{"key": "dash_winter", "name": "Dash Winter",
		"start": "2030-12-01T00:00:00Z", "end": "2031-01-01T00:00:00Z", "work_percent": 150, "gather_percent": 200,
		"token": {"name": "Flake"}, "tokens": {"work": 10},
		"rewards": {"top": [{"up_to": 3, "credits": 100}], "threshold": {"tokens": 50, "credits": 10}}}]}`), economy.DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	return economy.StaticEvents(cal)
}

// TestEventsAdminPage: admins see the calendar with each event's state on
// /admin/events and /api/admin/events; others are refused.
func TestEventsAdminPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin, alice := e.login(t, e.admin), e.login(t, e.alice)
	resp := admin.do("GET", "/admin/events", nil, nil)
	b := body(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/events: %d %s", resp.StatusCode, b)
	}
	for _, want := range []string{`id="events"`, "Dash Winter", "<code>dash_winter</code>", "2030-12-01 00:00 UTC",
		"upcoming", "150%", "200%", "top 3, and 50+ tokens", "none yet", `href="/admin/events" aria-current="page"`} {
		if !strings.Contains(b, want) {
			t.Errorf("the page lacks %q:\n%s", want, b)
		}
	}
	var events []dashboard.EventView
	if code := admin.get("/api/admin/events", &events); code != http.StatusOK || len(events) != 1 ||
		events[0].Key != "dash_winter" || events[0].State != "upcoming" || events[0].TopRanks != 3 {
		t.Errorf("GET /api/admin/events: %d %+v", code, events)
	}
	for _, path := range []string{"/admin/events", "/api/admin/events"} {
		if resp := alice.do("GET", path, nil, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a non-admin GET %s: %d", path, resp.StatusCode)
		}
	}
	if b := body(alice.do("GET", "/", nil, nil)); strings.Contains(b, `href="/admin/events"`) {
		t.Error("a non-admin sees the events link")
	}
}
