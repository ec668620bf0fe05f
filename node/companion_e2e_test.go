package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// menuOf returns a message's select menu: its custom ID and the values
// of its options.
func menuOf(t *testing.T, m discordsim.Message) (string, []string) {
	t.Helper()
	for _, raw := range m.Components {
		var row struct {
			Components []struct {
				Type     int    `json:"type"`
				CustomID string `json:"custom_id"`
				Options  []struct {
					Value string `json:"value"`
				} `json:"options"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			t.Fatal(err)
		}
		for _, c := range row.Components {
			if c.Type == 3 {
				var vals []string
				for _, o := range c.Options {
					vals = append(vals, o.Value)
				}
				return c.CustomID, vals
			}
		}
	}
	return "", nil
}

// text is a message's content and embeds as one string.
func text(m discordsim.Message) string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, raw := range m.Embeds {
		var e struct {
			Title, Description string
			Fields             []struct{ Name, Value string }
		}
		_ = json.Unmarshal(raw, &e)
		b.WriteString("\n" + e.Title + "\n" + e.Description)
		for _, f := range e.Fields {
			b.WriteString("\n" + f.Name + ": " + f.Value)
		}
	}
	return b.String()
}

// The end-to-end path through discordsim and a real node: a
// capsule from /shop → /use → /companion train → /battle accepted and
// played to the end by button clicks → balances and ledger as expected.
func TestCompanionBattleThroughDiscordsim(t *testing.T) {
	s := newStack(t, 1)
	// The test clicks each move as soon as the last is answered, faster
	// than the 10 commands a second a person is allowed.
	s.startNode(t, "n1", func(f *node.Flags) { f.RateLimits = "command=100/1s" })
	guild := s.sim.Guilds()[0].ID
	alice, bob := s.sim.DefaultUsers()[0], s.sim.DefaultUsers()[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := s.db(ctx, t)
	// Fund both players from the Mint, through the ledger.
	for _, u := range []discordsim.Snowflake{alice, bob} {
		fundFromMint(ctx, t, pool, u, 20000)
	}
	run := func(user discordsim.Snowflake, cmd, sub string, opts map[string]any) discordsim.Message {
		t.Helper()
		_, msg := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: cmd, Subcommand: sub, Options: opts})
		if msg.Ephemeral() {
			t.Fatalf("/%s %s: refused: %s", cmd, sub, msg.Content)
		}
		return msg
	}
	click := func(user discordsim.Snowflake, m discordsim.Message, custom string, values ...string) discordsim.Message {
		t.Helper()
		i, err := s.sim.Click(ctx, discordsim.Click{UserID: user, MessageID: m.ID, CustomID: custom, Values: values})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := i.WaitMessage(ctx)
		if err != nil {
			t.Fatalf("click %s: %v", custom, err)
		}
		return msg
	}
	for _, u := range []discordsim.Snowflake{alice, bob} {
		run(u, "buy", "", map[string]any{"item": "companion_capsule"})
		if m := run(u, "use", "", map[string]any{"item": "companion_capsule"}); !strings.Contains(text(m), "capsule pops open") {
			t.Fatalf("/use: %s", text(m))
		}
	}
	if m := run(alice, "companion", "train", map[string]any{"companion": "#1"}); !strings.Contains(text(m), "XP") {
		t.Fatalf("/companion train: %s", text(m))
	}
	msg := run(alice, "battle", "", map[string]any{"user": bob, "wager": "1000"})
	// Bob accepts by picking his fighter from the challenge's menu.
	menu, fighters := menuOf(t, msg)
	if menu == "" || len(fighters) != 1 {
		t.Fatalf("challenge menu %q with %v", menu, fighters)
	}
	challenge := msg.ID
	msg = click(bob, msg, menu, fighters[0])
	for i := 0; !strings.Contains(text(msg), "wins"); i++ {
		// One message, updated in place turn by turn, with an HP bar a side.
		if msg.ID != challenge || strings.Count(text(msg), "❤️") != 2 {
			t.Fatalf("turn %d: message %s (the challenge was %s): %s", i, msg.ID, challenge, text(msg))
		}
		if i > 100 {
			t.Fatalf("the battle never ends: %s", text(msg))
		}
		mover := alice
		if strings.Contains(msg.Content, fmt.Sprintf("<@%s>, your move", bob)) {
			mover = bob
		}
		var move string
		for label, id := range controlIDs(t, msg) {
			if label != "🔄" {
				move = id
			}
		}
		if move == "" {
			t.Fatalf("no move buttons: %s", text(msg))
		}
		msg = click(mover, msg, move)
	}
	if msg.ID != challenge {
		t.Fatalf("the result is message %s, the challenge was %s", msg.ID, challenge)
	}
	// Over: the message keeps neither move buttons nor "your move!".
	if len(msg.Components) != 0 || strings.Contains(msg.Content, "your move") {
		t.Errorf("the finished battle's message: content %q, %d component rows", msg.Content, len(msg.Components))
	}
	// Achievements earned on the way (a net worth, a first find) pay
	// their rewards into the wallets too; the outbox sweep may award one
	// at any time, so wallets and rewards are read in one snapshot.
	var aw, bw, ar, br int64
	if err := pool.QueryRow(ctx, `SELECT (SELECT wallet FROM economy.accounts WHERE user_id = $1),
		(SELECT wallet FROM economy.accounts WHERE user_id = $2),
		(SELECT coalesce(sum(l.amount), 0) FROM economy.ledger_legs l JOIN economy.transactions t ON t.id = l.tx_id
			WHERE t.kind = 'achievements' AND l.account_id = $1),
		(SELECT coalesce(sum(l.amount), 0) FROM economy.ledger_legs l JOIN economy.transactions t ON t.id = l.tx_id
			WHERE t.kind = 'achievements' AND l.account_id = $2)`,
		int64(alice), int64(bob)).Scan(&aw, &bw, &ar, &br); err != nil {
		t.Fatal(err)
	}
	train := economy.DefaultCatalog().Companions.Train.Cost
	aliceWon := strings.Contains(text(msg), fmt.Sprintf("<@%s> wins", alice))
	wantA, wantB := 15000-train-1000, int64(15000-1000)
	if aliceWon {
		wantA += 1900
	} else {
		wantB += 1900
	}
	wantA, wantB = wantA+ar, wantB+br
	if aw != wantA || bw != wantB {
		t.Errorf("wallets: alice %d, bob %d; want %d, %d (alice won: %v)", aw, bw, wantA, wantB, aliceWon)
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
}

// fundFromMint gives user n credits from the Mint, through the ledger
// (once per user).
func fundFromMint(ctx context.Context, t *testing.T, pool *pgxpool.Pool, user discordsim.Snowflake, n int64) {
	t.Helper()
	if _, err := pool.Exec(ctx, `WITH op AS (
			INSERT INTO economy.transactions (op_id, user_id, kind, result) VALUES ('e2e-fund-' || $1::bigint, $1::bigint, 'grant', '{}') RETURNING id
		), acct AS (INSERT INTO economy.accounts (user_id, wallet) VALUES ($1::bigint, $2::bigint))
		INSERT INTO economy.ledger_legs (account_id, tx_id, amount) SELECT $1::bigint, id, $2::bigint FROM op UNION ALL SELECT -1, id, -$2::bigint FROM op`,
		int64(user), n); err != nil {
		t.Fatal(err)
	}
}

// A node's own sweeper resolves a challenge past its deadline (no click
// needed: any node does it within the sweep interval) and edits the
// challenge's message in discordsim: it says the challenge expired and its
// buttons are gone; the challenger's companion is free again.
func TestNodeSweepsAnExpiredChallenge(t *testing.T) {
	s := newStack(t, 1)
	s.startNode(t, "n1")
	guild := s.sim.Guilds()[0].ID
	alice, bob := s.sim.DefaultUsers()[0], s.sim.DefaultUsers()[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := s.db(ctx, t)
	fundFromMint(ctx, t, pool, alice, 10000)
	for _, c := range []discordsim.Invocation{
		{GuildID: guild, UserID: alice, Command: "buy", Options: map[string]any{"item": "companion_capsule"}},
		{GuildID: guild, UserID: alice, Command: "use", Options: map[string]any{"item": "companion_capsule"}},
	} {
		if _, m := invoke(t, s.sim, c); m.Ephemeral() {
			t.Fatalf("/%s: %s", c.Command, m.Content)
		}
	}
	_, msg := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: alice, Command: "battle", Options: map[string]any{"user": bob, "wager": "500"}})
	if msg.Ephemeral() || len(controlIDs(t, msg)) == 0 {
		t.Fatalf("/battle: %s", text(msg))
	}
	// The 60 s deadline, passed.
	if _, err := pool.Exec(ctx, `UPDATE economy.battles SET deadline = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 15*time.Second, func() bool {
		m, ok := s.sim.Message(msg.ID)
		return ok && strings.Contains(text(m), "expired") && len(m.Components) == 0
	}, "the challenge's message to say it expired")
	var held int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.companions WHERE battle_id IS NOT NULL`).Scan(&held); err != nil || held != 0 {
		t.Fatalf("%d companions still held (%v)", held, err)
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
}
