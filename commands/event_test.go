package commands_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

const eventCalendar = `{"events": [{
	"key": "cmd_winter", "name": "Test Winter", "description": "Snow for the tests.",
	"start": "2030-01-01T00:00:00Z", "end": "2030-01-08T00:00:00Z",
	"work_percent": 200, "gather_percent": 150,
	"token": {"name": "Flake", "emoji": "❄️"}, "tokens": {"work": 10, "gather": 5},
	"collectibles": [{"key": "cmd_globe", "name": "Test Globe", "rarity": "rare", "weight": 1}],
	"collectible_per_mille": 100,
	"shop": [{"item": "coffee", "price": 5}, {"item": "cmd_globe", "price": 50}],
	"rewards": {"top": [{"up_to": 1, "credits": 1000, "item": "skin_gilded"}, {"up_to": 3, "credits": 500}],
	            "threshold": {"tokens": 100, "credits": 50}}
}]}`

// newEventEnv is an economy with eventCalendar on a settable clock, with
// the economy commands and /event.
func newEventEnv(t *testing.T) (*econEnv, func(time.Time)) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC)
	set := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	cal, err := economy.ParseCalendar([]byte(eventCalendar), economy.DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := economy.New(pool, economy.Config{Rand: rand.NewPCG(3, 4), Now: clock, Events: economy.StaticEvents(cal)})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := commands.NewCatalog(append(commands.Economy(svc), commands.Events(svc)...), commands.EconomyComponents(svc))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	router, err := commands.NewRouter(commands.Config{Catalog: cat, Responder: rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &econEnv{router: router, rec: rec, svc: svc, pool: pool}
	e.nextID.Store(1 << 40)
	return e, set
}

// TestEventCommands walks /event through an event: nothing before it,
// tokens from /work shown in the shift's reply and in /event now, the
// shop and its refusals, and the board with its rewards.
func TestEventCommands(t *testing.T) {
	t.Parallel()
	e, setClock := newEventEnv(t)
	steps := []struct {
		name      string
		at        time.Time // zero: unchanged
		path      string
		opts      []opt
		contains  []string
		ephemeral bool
	}{
		{"before the event", time.Time{}, "event now", nil, []string{"No event is running right now.", "Next: **Test Winter**, <t:1893456000:R>"}, false},
		{"shop closed before it", time.Time{}, "event buy", []opt{{"item", "coffee"}}, []string{"No event is running right now."}, true},
		{"a shift earns tokens", time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC), "work", []opt{{"job", "code_review"}},
			[]string{"❄️ Test Winter: +10 Flakes (10 held)."}, false},
		{"now", time.Time{}, "event now", nil, []string{"Test Winter", "Snow for the tests.", "Ends: <t:1894060800:R> (6 days left)",
			"Your tokens: ❄️ 10 Flakes", "Your rank: #1 of 1", "Work pay: ×2", "Rare finds: ×1.5", "Test Globe (rare): 0",
			"Earn ❄️ 100 Flakes to be rewarded"}, false},
		{"shop", time.Time{}, "event shop", nil, []string{"**Coffee** (`coffee`): ❄️ 5 Flakes", "**Test Globe (event collectible)** (`cmd_globe`): ❄️ 50 Flakes",
			"You have ❄️ 10 Flakes."}, false},
		{"buy by name", time.Time{}, "event buy", []opt{{"item", "Coffee"}, {"quantity", 2}},
			[]string{"You bought **2× Coffee** for ❄️ 10 Flakes. It is in your /inventory.", "Tokens left: ❄️ 0 Flakes"}, false},
		{"not in the shop", time.Time{}, "event buy", []opt{{"item", "pickaxe"}}, []string{"The Test Winter shop does not sell \"pickaxe\"."}, true},
		{"not enough tokens", time.Time{}, "event buy", []opt{{"item", "coffee"}}, []string{"That costs 5 tokens; you have 0."}, true},
		{"inventory has the coffee", time.Time{}, "inventory", nil, []string{"Coffee"}, false},
		{"board keeps what was earned", time.Time{}, "event board", nil, []string{"**#1** <@1001>: ❄️ 10 Flakes",
			"#1: 1,000 credits + Gilded Skin", "#2-3: 500 credits", "❄️ 100 Flakes earned: 50 credits"}, false},
		{"after the end", time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC), "event now", nil, []string{"No event is running right now.",
			"**Test Winter** ended <t:1894060800:R>. Its rewards are being paid."}, false},
	}
	for _, s := range steps {
		if !s.at.IsZero() {
			setClock(s.at)
		}
		text, eph, _ := e.reply(t, e.command(alice, s.path, s.opts...))
		for _, want := range s.contains {
			if !strings.Contains(text, want) {
				t.Errorf("%s: reply lacks %q:\n%s", s.name, want, text)
			}
		}
		if eph != s.ephemeral {
			t.Errorf("%s: ephemeral %v, want %v:\n%s", s.name, eph, s.ephemeral, text)
		}
	}
	if _, err := e.svc.PayEndedEvents(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	want := "You finished #1 with ❄️ 10 Flakes: 1,000 credits + Gilded Skin, paid."
	if text, _, _ := e.reply(t, e.command(alice, "event now")); !strings.Contains(text, want) {
		t.Errorf("after the payout, /event now lacks %q:\n%s", want, text)
	}
}
