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
	pool, err := pgxpool.New(ctx, s.pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	// Fund both players from the Mint, through the ledger.
	for _, u := range []discordsim.Snowflake{alice, bob} {
		if _, err := pool.Exec(ctx, `WITH op AS (
				INSERT INTO economy.transactions (op_id, user_id, kind, result) VALUES ('e2e-fund-' || $1::bigint, $1::bigint, 'grant', '{}') RETURNING id
			), acct AS (INSERT INTO economy.accounts (user_id, wallet) VALUES ($1::bigint, 20000))
			INSERT INTO economy.ledger_legs (account_id, tx_id, amount) SELECT $1::bigint, id, 20000 FROM op UNION ALL SELECT -1, id, -20000 FROM op`,
			int64(u)); err != nil {
			t.Fatal(err)
		}
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
	msg = click(bob, msg, menu, fighters[0])
	for i := 0; !strings.Contains(text(msg), "wins"); i++ {
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
