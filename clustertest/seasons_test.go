package clustertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// seededPlayers are the event players the season test writes straight
// into the board, so that the payout lasts long enough (a few seconds) to
// kill the node paying it midway.
const seededPlayers = 800

// TestSeasonPaidOnceDespiteAKilledPayer drives the economy clock of three
// node processes through a whole event (the test-only clock file): the
// calendar file changes and SIGHUP reloads it on each node; before the
// event /event shows it as the next one; during it /work earns tokens, shown in the
// reply, and /event now shows tokens and rank; after its end the nodes pay
// it, and the node paying is SIGKILLed midway. Another node finishes the
// payout, and every reward is paid exactly once: one paid row and one
// operation per winner, each winner's credit legs equal to their reward,
// and economy.Audit clean.
func TestSeasonPaidOnceDespiteAKilledPayer(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	dir := t.TempDir()
	clockFile := filepath.Join(dir, "clock")
	setClock := func(d time.Duration) {
		t.Helper()
		if err := os.WriteFile(clockFile, []byte(d.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	setClock(0)
	start := time.Now().UTC().Truncate(time.Second).Add(time.Hour)
	eventsFile := filepath.Join(dir, "events.json")
	calendar := fmt.Sprintf(`{"events": [{"key": "cluster_winter", "name": "%s", "description": "Three nodes, one payout.",
		"start": %q, "end": %q, "work_percent": 150, "gather_percent": 150,
		"token": {"name": "Flake"}, "tokens": {"work": 10, "gather": 5},
		"shop": [{"item": "coffee", "price": 5}],
		"rewards": {"top": [{"up_to": 1, "credits": 5000, "item": "skin_gilded"}, {"up_to": 3, "credits": 2000}],
		            "threshold": {"tokens": 10, "credits": 100}}}]}`,
		"%s", start.Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339))
	writeCalendar := func(name string) {
		t.Helper()
		if err := os.WriteFile(eventsFile, []byte(fmt.Sprintf(calendar, name)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCalendar("Draft Winter")
	env := []string{"EVENTS_FILE=" + eventsFile, node.TestClockEnv + "=" + clockFile}
	for _, id := range []string{"a", "b", "c"} {
		c.Start(id, false, env...)
	}
	c.AwaitSteady(40*time.Second, "a", "b", "c")

	// The operator renames the event; SIGHUP reloads it on every node.
	writeCalendar("Cluster Winter")
	for _, id := range []string{"a", "b", "c"} {
		p := c.Node(id)
		if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 5*time.Second, func() bool { return strings.Contains(p.Logs.String(), "events calendar reloaded") },
			"node %s to reload the calendar on SIGHUP", id)
	}
	c.CheckAlive("a", "b", "c")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	guilds, users := c.Sim.Guilds(), c.Sim.DefaultUsers()
	invoke := func(i int, inv discordsim.Invocation) string {
		t.Helper()
		inv.GuildID, inv.UserID = guilds[i%len(guilds)].ID, users[i%len(users)]
		it, err := c.Sim.Invoke(ctx, inv)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := it.WaitMessage(ctx)
		if err != nil {
			t.Fatalf("/%s %s: %v", inv.Command, inv.Subcommand, err)
		}
		return messageText(msg)
	}
	if got := invoke(0, discordsim.Invocation{Command: "event", Subcommand: "now"}); !strings.Contains(got, "Next: **Cluster Winter**") {
		t.Fatalf("before the event, /event now answered %s", got)
	}

	setClock(61 * time.Minute) // the event runs on every node
	for i := range users {
		got := invoke(i, discordsim.Invocation{Command: "work", Options: map[string]any{"job": "code_review"}})
		if !strings.Contains(got, "Cluster Winter: +10 Flakes (10 held)") {
			t.Fatalf("/work during the event answered %s", got)
		}
	}
	if got := invoke(0, discordsim.Invocation{Command: "event", Subcommand: "now"}); !strings.Contains(got, "10 Flakes") ||
		!strings.Contains(got, fmt.Sprintf(" of %d", len(users))) {
		t.Fatalf("during the event, /event now answered %s", got)
	}

	pool, err := pgxpool.New(ctx, c.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `INSERT INTO economy.event_players (event_key, user_id, tokens, earned, reached_at)
		SELECT 'cluster_winter', 9000000 + g, 10, 10 + g % 40, $2 FROM generate_series(1, $1) g`,
		seededPlayers, start.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}

	setClock(2*time.Hour + time.Minute) // the event is over: the nodes pay it
	ended := time.Now()
	var payer string
	var paid, total int
	poll.Eventually(t, 20*time.Second, func() bool {
		err := pool.QueryRow(ctx, `SELECT c.worker, c.winners, (SELECT count(*) FROM economy.event_payouts p
			WHERE p.event_key = c.event_key AND p.paid_at IS NOT NULL) FROM economy.event_closings c WHERE c.event_key = 'cluster_winter'`).
			Scan(&payer, &total, &paid)
		return err == nil && paid >= total/10
	}, "a tenth of the rewards paid")
	if paid >= total {
		t.Fatalf("the payout of %d finished before the kill; seed more players", total)
	}
	c.Kill(payer)
	t.Logf("killed node %s, the payer, with %d of %d rewards paid", payer, paid, total)

	var closed bool
	var finisher string
	poll.Eventually(t, 30*time.Second, func() bool {
		err := pool.QueryRow(ctx, `SELECT closed_at IS NOT NULL, worker FROM economy.event_closings WHERE event_key = 'cluster_winter'`).
			Scan(&closed, &finisher)
		return err == nil && closed
	}, "the payout finished by another node")
	t.Logf("%d rewards paid %v after the end, the payer killed on the way", total, time.Since(ended).Round(10*time.Millisecond))
	if finisher == payer {
		t.Errorf("the payout was finished by %s, the node killed", finisher)
	}
	if want := len(users) + seededPlayers; total != want {
		t.Errorf("%d winners, want %d (everyone past the threshold)", total, want)
	}
	checkEventPaidOnce(t, ctx, pool, "cluster_winter", total)
}

// checkEventPaidOnce checks that each of the winners of event was paid
// exactly once: a paid payout row, one reward operation, credit legs equal
// to the row's credits, the reward items given, and economy.Audit clean.
func checkEventPaidOnce(t *testing.T, ctx context.Context, pool *pgxpool.Pool, event string, winners int) {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT p.user_id, p.credits, p.paid_at IS NOT NULL,
			(SELECT count(*) FROM economy.transactions x WHERE x.op_id = 'event_reward:' || p.event_key || ':' || p.user_id),
			(SELECT coalesce(sum(l.amount), 0)::bigint FROM economy.transactions x JOIN economy.ledger_legs l ON l.tx_id = x.id
			  WHERE x.op_id = 'event_reward:' || p.event_key || ':' || p.user_id AND l.account_id = p.user_id),
			cardinality(p.items)
		FROM economy.event_payouts p WHERE p.event_key = $1`, event)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		user, credits   int64
		paid            bool
		ops             int
		credited        int64
		rewardItemCount int
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.user, &x.credits, &x.paid, &x.ops, &x.credited, &x.rewardItemCount)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != winners {
		t.Errorf("%d payout rows, want %d", len(all), winners)
	}
	bad := 0
	for _, x := range all {
		if !x.paid || x.ops != 1 || x.credited != x.credits {
			if bad++; bad <= 10 {
				t.Errorf("user %d: paid %v, %d reward operations, credited %d of %d", x.user, x.paid, x.ops, x.credited, x.credits)
			}
		}
	}
	var rewardOps, items, itemRewards int
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM economy.transactions WHERE kind = 'event_reward'),
		(SELECT count(*) FROM economy.item_legs l JOIN economy.transactions x ON x.id = l.tx_id WHERE x.kind = 'event_reward'),
		(SELECT coalesce(sum(cardinality(items)), 0) FROM economy.event_payouts WHERE event_key = $1)`, event).
		Scan(&rewardOps, &items, &itemRewards); err != nil {
		t.Fatal(err)
	}
	if rewardOps != winners || items != itemRewards {
		t.Errorf("%d reward operations (want %d), %d reward items given (want %d)", rewardOps, winners, items, itemRewards)
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("%v (%+v)", err, rep)
	}
}
