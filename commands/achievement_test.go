package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// newAchievementEnv is newEconEnv with the economy's writes announcing
// achievements, and /achievements.
func newAchievementEnv(t testing.TB) *econEnv {
	t.Helper()
	e := newEconEnv(t)
	cat, err := commands.NewCatalog(append(commands.WithAchievements(e.svc, commands.Economy(e.svc)), commands.Achievements(e.svc)...),
		append(commands.EconomyComponents(e.svc), commands.AchievementComponents(e.svc)...))
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestAchievementsAnnouncedAndListed(t *testing.T) {
	e := newAchievementEnv(t)
	ev := e.command(alice, "daily")
	text, _, _ := e.reply(t, ev)
	if !strings.Contains(text, "You claimed **500 credits**") || !strings.Contains(text, "Achievement unlocked!") ||
		!strings.Contains(text, "🏆 **Good Morning**: Claim your first daily. (+100 credits)") {
		t.Fatalf("daily: %q", text)
	}
	// The same interaction delivered again announces the same, and pays nothing more.
	if again, _, _ := e.reply(t, ev); again != text {
		t.Fatalf("replay: %q, first %q", again, text)
	}
	if a, _ := e.svc.Balance(context.Background(), int64(alice.ID)); a.Wallet != 600 {
		t.Fatalf("wallet %d, want 600", a.Wallet)
	}
	if text, _, _ := e.reply(t, e.command(alice, "bank deposit", opt{"amount", "100"})); strings.Contains(text, "Achievement unlocked") {
		t.Fatalf("announced again: %q", text)
	}
	text, _, data := e.reply(t, e.command(bob, "achievements", opt{"user", alice}))
	for _, want := range []string{"Achievements of alice", "🏆 **Good Morning**", "⬜ **Creature of Habit**: Reach a 7-day daily streak. · 1 / 7", "Earned: 1 / ", "Page 1 of 4"} {
		if !strings.Contains(text, want) {
			t.Errorf("list %q lacks %q", text, want)
		}
	}
	if data.Components == nil {
		t.Fatal("no pager")
	}
	text, _, _ = e.component(t, bob, findButton(t, *data.Components, "Next ▶").CustomID)
	if !strings.Contains(text, "Page 2 of 4") || !strings.Contains(text, "🔒 **???**") {
		t.Fatalf("page 2: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "achievements", opt{"user", robot})); !eph || !strings.Contains(text, "Bots do not earn") {
		t.Fatalf("a bot's achievements: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "achievements", opt{"page", 9})); !eph || !strings.Contains(text, economy.ErrBadPage.Message) {
		t.Fatalf("page past the end: %q", text)
	}
	for _, forged := range []string{"achpage:1001:1", "achpage:1001:1:x", "achpage:1001:1:-3"} {
		if text, eph, _ := e.component(t, alice, discordID(forged)); !eph || strings.Contains(text, "Something went wrong") {
			t.Errorf("forged %s: %q", forged, text)
		}
	}
	rep, err := economy.Audit(context.Background(), e.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", rep.Err(), err)
	}
}

func discordID(s string) discord.ComponentID { return discord.ComponentID(s) }

func TestAchievementsCommandOnlyReads(t *testing.T) {
	e := newEconEnv(t)
	for _, c := range commands.Achievements(e.svc) {
		if c.Writes {
			t.Errorf("/%s only reads: Writes = true", c.Name)
		}
	}
	for _, c := range commands.AchievementComponents(e.svc) {
		if c.Writes {
			t.Errorf("button %q only reads: Writes = true", c.Prefix)
		}
	}
}

func TestBalanceShowsTitle(t *testing.T) {
	e := newAchievementEnv(t)
	ctx := context.Background()
	if text, _, _ := e.reply(t, e.command(alice, "balance")); strings.Contains(text, "by achievement") {
		t.Fatalf("a title without achievements: %q", text)
	}
	for _, key := range []string{"first_daily", "streak_30", "worth_1m"} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO economy.achievements (user_id, key, earned_at) VALUES ($1, $2, now())`,
			int64(alice.ID), key); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range []string{"own", "someone else's"} {
		inv := e.command(alice, "balance")
		if ev != "own" {
			inv = e.command(bob, "balance", opt{"user", alice})
		}
		text, _, _ := e.reply(t, inv)
		if !strings.Contains(text, "*Millionaire*, by achievement") {
			t.Errorf("%s balance: %q", ev, text)
		}
	}
	text, _, _ := e.reply(t, e.command(alice, "achievements"))
	if !strings.Contains(text, "title *Millionaire*") {
		t.Errorf("the list does not name the title: %q", text)
	}
}
