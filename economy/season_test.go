package economy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// seasonCalendar is a calendar with one event, from an hour after the
// test clock's start for a day, paying the top 2 and everyone past 20
// tokens.
const seasonCalendar = `{"events": [{
	"key": "test_winter", "name": "Test Winter", "description": "for tests",
	"start": "2026-11-25T13:00:00Z", "end": "2026-11-26T13:00:00Z",
	"work_percent": 200, "gather_percent": 150,
	"token": {"name": "Flake", "emoji": "❄️"}, "tokens": {"work": 10, "gather": 5},
	"collectibles": [{"key": "test_globe", "name": "Test Globe", "rarity": "rare", "weight": 1}],
	"collectible_per_mille": 1000,
	"shop": [{"item": "coffee", "price": 15}, {"item": "test_globe", "price": 5}],
	"rewards": {"top": [{"up_to": 1, "credits": 1000, "item": "skin_gilded"}, {"up_to": 2, "credits": 500}],
	            "threshold": {"tokens": 20, "credits": 100}}
}]}`

// seasonEnv is env with a service that plays by seasonCalendar.
func seasonEnv(t *testing.T) (*env, *economy.Service) {
	t.Helper()
	e := newEnv(t)
	cal, err := economy.ParseCalendar([]byte(seasonCalendar), economy.DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := economy.New(e.pool, economy.Config{Rand: rand.NewPCG(3, 4), Now: e.clock.Now, Events: economy.StaticEvents(cal)})
	if err != nil {
		t.Fatal(err)
	}
	return e, svc
}

// TestSeasonThroughAnEvent moves the clock through a whole event: plays
// before it earn nothing, plays during it earn tokens (and a collectible,
// at a 1000‰ chance) with the work multiplier, the shop spends tokens
// once per operation, and after the end each reward is paid exactly once
// although three "nodes" pay at the same time and again later.
func TestSeasonThroughAnEvent(t *testing.T) {
	ctx := context.Background()
	e, svc := seasonEnv(t)
	const alice, bob, carol = 101, 102, 103
	job, _ := svc.Catalog().Job("code_review")

	s, err := svc.Work(ctx, op(), alice, job.Key)
	if err != nil {
		t.Fatal(err)
	}
	if s.Event != nil || s.Pay > job.MaxPay {
		t.Fatalf("before the event: %+v", s)
	}
	v, err := svc.EventStatus(ctx, alice)
	if err != nil || v.Event != nil || v.Next == nil || v.Next.Key != "test_winter" {
		t.Fatalf("status before the event: %+v, %v", v, err)
	}
	if _, err := svc.EventBuy(ctx, op(), alice, "coffee", 1); !errors.Is(err, economy.ErrNoEvent) {
		t.Fatalf("shop before the event: %v, want ErrNoEvent", err)
	}

	e.clock.Add(time.Hour) // the event starts
	shifts := map[int64]int{alice: 3, bob: 2, carol: 1}
	for round := range 3 {
		for _, u := range []int64{alice, bob, carol} {
			if round >= shifts[u] {
				continue
			}
			s, err := svc.Work(ctx, op(), u, job.Key)
			if err != nil {
				t.Fatal(err)
			}
			if s.Event == nil || s.Event.Tokens != 10 || s.Pay < 2*job.MinPay || s.Pay > 2*job.MaxPay {
				t.Fatalf("shift during the event: %+v (event %+v)", s, s.Event)
			}
		}
		e.clock.Add(job.Cooldown())
	}
	v, err = svc.EventStatus(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if v.Event == nil || v.Tokens != 20 || v.Earned != 20 || v.Rank != 2 || v.Players != 3 || len(v.Top) != 3 || v.Top[0].User != alice {
		t.Fatalf("bob's status: %+v", v)
	}
	if v.Left != 24*time.Hour-3*job.Cooldown() {
		t.Errorf("time left %v", v.Left)
	}

	// The shop: a replay spends nothing more; too little is refused.
	buy := op()
	for range 2 {
		p, err := svc.EventBuy(ctx, buy, bob, "coffee", 1)
		if err != nil || p.Cost != 15 || p.Tokens != 5 {
			t.Fatalf("buy: %+v, %v", p, err)
		}
	}
	if _, err := svc.EventBuy(ctx, op(), bob, "coffee", 1); !errors.Is(err, economy.ErrNotEnoughTokens) {
		t.Fatalf("buy past the tokens: %v", err)
	}
	if _, err := svc.EventBuy(ctx, op(), bob, "pickaxe", 1); !errors.Is(err, economy.ErrNotInEventShop) {
		t.Fatalf("buy off the shop: %v", err)
	}
	if p, err := svc.EventBuy(ctx, op(), bob, "test_globe", 1); err != nil || p.Tokens != 0 {
		t.Fatalf("buy a collectible: %+v, %v", p, err)
	}
	v, _ = svc.EventStatus(ctx, bob)
	if v.Tokens != 0 || v.Earned != 20 || v.Rank != 2 || len(v.Finds) != 1 || v.Finds[0].Found != 1 {
		t.Fatalf("after shopping, the board still counts what was earned: %+v", v)
	}

	// The end: nothing earned after it, rewards paid once by three payers.
	e.clock.Add(24 * time.Hour)
	if s, err := svc.Work(ctx, op(), carol, job.Key); err != nil || s.Event != nil {
		t.Fatalf("a shift after the end: %+v, %v", s, err)
	}
	before := map[int64]int64{}
	for _, u := range []int64{alice, bob, carol} {
		before[u] = e.balance(t, u).Wallet
	}
	var wg sync.WaitGroup
	paid := make([]int, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := svc.PayEndedEvents(ctx, fmt.Sprintf("node-%d", i))
			if err != nil {
				t.Error(err)
			}
			paid[i] = n
		}()
	}
	wg.Wait()
	for range 2 { // a payer that lost the lock race finishes what is left
		if _, err := svc.PayEndedEvents(ctx, "late"); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := svc.PayEndedEvents(ctx, "again"); err != nil || n != 0 {
		t.Fatalf("a closed event paid again: %d, %v", n, err)
	}
	for u, want := range map[int64]int64{alice: 1000 + 100, bob: 500 + 100, carol: 0} {
		if got := e.balance(t, u).Wallet - before[u]; got != want {
			t.Errorf("user %d received %d, want %d", u, got, want)
		}
	}
	for _, tt := range []struct {
		user    int64
		rank    int
		credits int64
	}{{alice, 1, 1100}, {bob, 2, 600}, {carol, 0, 0}} {
		v, err := svc.EventStatus(ctx, tt.user)
		switch {
		case err != nil:
			t.Fatal(err)
		case v.Event != nil || v.Last == nil || v.Last.Key != "test_winter" || v.LastPaying:
			t.Errorf("user %d after the payout: %+v", tt.user, v)
		case tt.rank == 0 && v.LastResult != nil:
			t.Errorf("user %d, not rewarded, has a result %+v", tt.user, v.LastResult)
		case tt.rank > 0 && (v.LastResult == nil || v.LastResult.Rank != tt.rank || v.LastResult.Credits != tt.credits || !v.LastPaid):
			t.Errorf("user %d's result: %+v (paid %v), want rank %d and %d credits", tt.user, v.LastResult, v.LastPaid, tt.rank, tt.credits)
		}
	}
	var rewards, gilded int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.transactions WHERE kind = 'event_reward'`).Scan(&rewards); err != nil {
		t.Fatal(err)
	}
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.items WHERE owner_id = $1 AND item_key = 'skin_gilded'`, alice).Scan(&gilded); err != nil {
		t.Fatal(err)
	}
	if rewards != 2 || gilded != 1 {
		t.Errorf("%d reward operations and %d gilded skins, want 2 and 1", rewards, gilded)
	}
	e.audit(t)
}

// TestSeasonPayoutResumesAfterAnInterruption stops a payout midway (its
// context cancelled after the first payments) and checks that the next
// call pays the rest, every winner exactly once.
func TestSeasonPayoutResumesAfterAnInterruption(t *testing.T) {
	ctx := context.Background()
	e, svc := seasonEnv(t)
	const players = 300
	if _, err := e.pool.Exec(ctx, `INSERT INTO economy.event_players (event_key, user_id, tokens, earned, reached_at)
		SELECT 'test_winter', 1000 + g, 30, 30 + g % 7, '2026-11-25T14:00:00Z' FROM generate_series(1, $1) g`, players); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = svc.PayEndedEvents(cctx, "dies")
	}()
	poll.Eventually(t, 10*time.Second, func() bool {
		var n int
		err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.event_payouts WHERE paid_at IS NOT NULL`).Scan(&n)
		return err == nil && n > 0
	}, "the first payment")
	cancel()
	<-done
	var unpaid int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.event_payouts WHERE paid_at IS NULL`).Scan(&unpaid); err != nil {
		t.Fatal(err)
	}
	t.Logf("interrupted with %d of %d unpaid", unpaid, players)
	if _, err := svc.PayEndedEvents(ctx, "survivor"); err != nil {
		t.Fatal(err)
	}
	var rows, paidRows, ops, legs int
	var credited int64
	if err := e.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM economy.event_payouts),
		(SELECT count(*) FROM economy.event_payouts WHERE paid_at IS NOT NULL),
		(SELECT count(*) FROM economy.transactions WHERE kind = 'event_reward'),
		(SELECT count(*) FROM economy.ledger_legs l JOIN economy.transactions t ON t.id = l.tx_id WHERE t.kind = 'event_reward' AND l.account_id > 0),
		(SELECT coalesce(sum(l.amount), 0)::bigint FROM economy.ledger_legs l JOIN economy.transactions t ON t.id = l.tx_id WHERE t.kind = 'event_reward' AND l.account_id > 0)`).
		Scan(&rows, &paidRows, &ops, &legs, &credited); err != nil {
		t.Fatal(err)
	}
	// Everyone is past the threshold (100); ranks 1 and 2 add 1000 and 500.
	if want := int64(players*100 + 1000 + 500); rows != players || paidRows != players || ops != players || legs != players || credited != want {
		t.Errorf("%d payout rows, %d paid, %d operations, %d credit legs, %d credited; want %d each and %d credited",
			rows, paidRows, ops, legs, credited, players, want)
	}
	e.audit(t)
}

// TestSeasonPlayRacingTheClosingIsOnTheBoardOrEarnsNothing: a node whose
// clock still says the event runs keeps playing while another closes it.
// Every play either landed before the board was frozen (and is paid as
// it stood) or earned nothing: no player's tokens differ from their
// payout row.
func TestSeasonPlayRacingTheClosingIsOnTheBoardOrEarnsNothing(t *testing.T) {
	ctx := context.Background()
	e, payer := seasonEnv(t)
	cal, err := economy.ParseCalendar([]byte(strings.Replace(seasonCalendar, `"tokens": 20, "credits": 100`, `"tokens": 10, "credits": 100`, 1)),
		economy.DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	payer, err = economy.New(e.pool, economy.Config{Rand: rand.NewPCG(5, 6), Now: e.clock.Now, Events: economy.StaticEvents(cal)})
	if err != nil {
		t.Fatal(err)
	}
	during := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) // an hour before the end
	player, err := economy.New(e.pool, economy.Config{Rand: rand.NewPCG(7, 8), Now: func() time.Time { return during },
		Events: economy.StaticEvents(cal)})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(25 * time.Hour) // the payer's clock: past the end
	// Two "nodes" play for fresh users until the payout returns, then five
	// plays more each, which must earn nothing.
	var wg sync.WaitGroup
	var next atomic.Int64
	var played atomic.Int64
	paidOut := make(chan struct{})
	var lateGains atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			after := -1
			for after < 5 {
				select {
				case <-paidOut:
					after++
				default:
				}
				s, err := player.Work(ctx, op(), 2000+next.Add(1), "code_review")
				if err != nil {
					t.Error(err)
					return
				}
				played.Add(1)
				if after >= 0 && s.Event != nil {
					lateGains.Add(1)
				}
			}
		}()
	}
	poll.Eventually(t, 10*time.Second, func() bool { return played.Load() >= 20 }, "20 plays")
	if _, err := payer.PayEndedEvents(ctx, "payer"); err != nil {
		t.Fatal(err)
	}
	close(paidOut)
	wg.Wait()
	if n := lateGains.Load(); n != 0 {
		t.Errorf("%d plays after the payout earned tokens", n)
	}
	players := played.Load()
	var onBoard, paid, mismatched int
	if err := e.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM economy.event_players WHERE event_key = 'test_winter'),
		(SELECT count(*) FROM economy.event_payouts WHERE event_key = 'test_winter' AND paid_at IS NOT NULL),
		(SELECT count(*) FROM economy.event_players p FULL JOIN economy.event_payouts o USING (event_key, user_id)
		  WHERE coalesce(p.event_key, o.event_key) = 'test_winter' AND p.earned IS DISTINCT FROM o.earned)`).
		Scan(&onBoard, &paid, &mismatched); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d plays landed before the closing", onBoard, players)
	if mismatched != 0 || paid != onBoard {
		t.Errorf("%d players' tokens differ from their payout rows; %d on the board, %d paid", mismatched, onBoard, paid)
	}
	e.audit(t)
}
