package commands_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// newBoardEnv is newEconEnv with /leaderboard and the router's Seen hook.
func newBoardEnv(t testing.TB) (*econEnv, *economy.Leaderboards) {
	t.Helper()
	e := newEconEnv(t)
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	boards := economy.NewLeaderboards(e.svc, rdb)
	cat, err := commands.NewCatalog(append(commands.Economy(e.svc), commands.Leaderboard(boards)...),
		append(commands.EconomyComponents(e.svc), commands.LeaderboardComponents(boards)...))
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test",
		Seen: commands.PlayerSeen(e.svc, nil)})
	if err != nil {
		t.Fatal(err)
	}
	return e, boards
}

func TestLeaderboardCommand(t *testing.T) {
	e, boards := newBoardEnv(t)
	ctx := context.Background()
	var players []discord.User
	for i := 1; i <= 14; i++ {
		u := discord.User{ID: discord.UserID(2000 + i), Username: fmt.Sprintf("p%02d", i)}
		players = append(players, u)
		e.fund(t, u, int64(i*100))
		e.reply(t, e.command(u, "balance")) // seen in guild 5
	}
	e.fund(t, discord.User{ID: 2999}, 1_000_000) // never used the bot: global only, no name
	for {
		n, err := boards.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	text, _, data := e.reply(t, e.command(players[0], "leaderboard", opt{"board", "wealth"}))
	for _, want := range []string{"Richest players (this server)", "**1.** p14 · 1,400 credits", "**10.** p05", "Your rank: #14 of 14 · 100 credits", "Page 1 of 2"} {
		if !strings.Contains(text, want) {
			t.Errorf("server board %q lacks %q", text, want)
		}
	}
	if strings.Contains(text, "<@") || strings.Contains(text, "2014") {
		t.Errorf("the board shows IDs: %q", text)
	}
	next := findButton(t, *data.Components, "Next ▶")
	text, _, _ = e.component(t, players[0], next.CustomID)
	if !strings.Contains(text, "**14.** p01 · 100 credits ← you") || !strings.Contains(text, "Page 2 of 2") {
		t.Fatalf("second page: %q", text)
	}
	if text, eph, _ := e.component(t, players[1], next.CustomID); !eph || !strings.Contains(text, "belong to someone else") {
		t.Fatalf("another's press: %q", text)
	}
	text, _, _ = e.reply(t, e.command(players[0], "leaderboard", opt{"board", "wealth"}, opt{"scope", "global"}))
	if !strings.Contains(text, "Richest players (global)") || !strings.Contains(text, "**1.** an unnamed player · 1,000,000 credits") ||
		!strings.Contains(text, "#15 of 15") {
		t.Fatalf("global board: %q", text)
	}
	text, _, _ = e.reply(t, e.command(players[0], "leaderboard", opt{"board", "collection"}))
	if !strings.Contains(text, "Best collections") || !strings.Contains(text, "Nobody is on this board yet.") {
		t.Fatalf("empty collection board: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(players[0], "leaderboard", opt{"board", "wealth"}, opt{"page", 9})); !eph || !strings.Contains(text, economy.ErrBadPage.Message) {
		t.Fatalf("page past the end: %q", text)
	}
	for _, forged := range []string{"lbpage:2001:1", "lbpage:2001:1:karma:0", "lbpage:2001:1:wealth:x", "lbpage:2001:1:wealth:-5"} {
		if text, eph, _ := e.component(t, players[0], discord.ComponentID(forged)); !eph || strings.Contains(text, "Something went wrong") {
			t.Errorf("forged %s: %q", forged, text)
		}
	}
}

func TestLeaderboardCommandOnlyReads(t *testing.T) {
	boards := economy.NewLeaderboards(nil, nil)
	for _, c := range commands.Leaderboard(boards) {
		if c.Writes {
			t.Errorf("/%s only reads: Writes = true", c.Name)
		}
	}
	for _, c := range commands.LeaderboardComponents(boards) {
		if c.Writes {
			t.Errorf("button %q only reads: Writes = true", c.Prefix)
		}
	}
}

// TestRouterTellsSeen: the router reports every admitted use by a person
// (not by a bot) with its guild, before the command runs.
func TestRouterTellsSeen(t *testing.T) {
	e := newEconEnv(t)
	var seen []string
	cat, err := commands.NewCatalog(commands.Economy(e.svc), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test",
		Seen: func(_ context.Context, inv *commands.Invocation) {
			seen = append(seen, fmt.Sprintf("%s@%d:%s", inv.User.Username, inv.GuildID, inv.Command))
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.reply(t, e.command(alice, "balance"))
	e.reply(t, e.command(robot, "balance"))
	e.reply(t, e.command(bob, "shop"))
	if got := strings.Join(seen, " "); got != "alice@5:balance bob@5:shop" {
		t.Fatalf("seen %q", got)
	}
}

func TestCompanionAndBattleBoardsShown(t *testing.T) {
	e, boards := newBoardEnv(t)
	ctx := context.Background()
	champ, fighter := discord.User{ID: 2101, Username: "champ"}, discord.User{ID: 2102, Username: "fighter"}
	for _, u := range []discord.User{champ, fighter} {
		e.fund(t, u, 100)
		e.reply(t, e.command(u, "balance")) // seen in guild 5
	}
	if _, err := e.pool.Exec(ctx, `INSERT INTO economy.companions (owner_id, model, name, power, speed, focus, charm, xp,
		charge, charge_at, mood, mood_at, created_at) VALUES ($1, 'scout', 'Rex', 5, 5, 5, 5, 19000, 100, now(), 100, now(), now())`,
		int64(champ.ID)); err != nil {
		t.Fatal(err)
	}
	var battle int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO economy.battles (challenger, challenged, challenger_companion, wager,
		state, deadline, created_at) VALUES ($1, $2, 1, 0, 'active', now(), now()) RETURNING id`, int64(champ.ID), int64(fighter.ID)).Scan(&battle); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.battles SET state = 'done', winner = $2 WHERE id = $1`, battle, int64(fighter.ID)); err != nil {
		t.Fatal(err)
	}
	for {
		n, err := boards.Process(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	for _, tc := range []struct{ board, want string }{
		{"companions", "**1.** champ · level 20 ← you"},
		{"battles", "**1.** fighter · 1 win"},
	} {
		text, _, _ := e.reply(t, e.command(champ, "leaderboard", opt{"board", tc.board}))
		if !strings.Contains(text, tc.want) {
			t.Errorf("%s board %q lacks %q", tc.board, text, tc.want)
		}
	}
}
