package economy_test

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// failAwards makes every award fail inside its transaction, after the
// outbox rows were taken (a trigger raising on economy.achievements), as
// a node dying between the action and its award would; the returned
// function heals it.
func failAwards(t *testing.T, e *env) (heal func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.pool.Exec(ctx, `
		CREATE OR REPLACE FUNCTION economy.test_fail_award() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'injected: the node died mid-award'; END $$;
		CREATE TRIGGER test_fail_award BEFORE INSERT ON economy.achievements
			FOR EACH ROW EXECUTE FUNCTION economy.test_fail_award();`); err != nil {
		t.Fatal(err)
	}
	healed := false
	heal = func() {
		if healed {
			return
		}
		healed = true
		if _, err := e.pool.Exec(ctx, `DROP TRIGGER test_fail_award ON economy.achievements`); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(heal)
	return heal
}

func (e *env) queued(t testing.TB, user int64) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM economy.achievement_outbox WHERE user_id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rewarded is what user received from achievements, by the ledger.
func (e *env) rewarded(t testing.TB, user int64) int64 {
	t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), `SELECT coalesce(sum(l.amount), 0) FROM economy.ledger_legs l
		JOIN economy.transactions t ON t.id = l.tx_id WHERE t.kind = 'achievements' AND l.account_id = $1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAchievementOutboxSurvivesFailure: the action and the outbox row
// commit together, so an award that never ran (the node stopped after the
// action) or failed midway is made by any node's sweep, exactly once, and
// a settle of the queue with nothing queued writes nothing.
func TestAchievementOutboxSurvivesFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		// settle is what the command's node did after the action.
		settle func(t *testing.T, e *env, user int64, action economy.Op)
	}{
		{"node stopped before the award", func(t *testing.T, e *env, user int64, action economy.Op) {}},
		{"award failed midway", func(t *testing.T, e *env, user int64, action economy.Op) {
			heal := failAwards(t, e)
			if _, err := e.svc.SettleAchievements(context.Background(), "achievements:"+action, user); err == nil {
				t.Fatal("the injected failure did not fail the award")
			}
			if got := e.achievements(t, user); len(got) != 0 {
				t.Fatalf("a failed award left achievements %v", got)
			}
			heal()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			other := e.secondNode(t)
			ctx := context.Background()
			const u = 401
			action := op()
			if _, err := e.svc.Daily(ctx, action, u); err != nil {
				t.Fatal(err)
			}
			if e.queued(t, u) == 0 {
				t.Fatal("the daily queued nothing in the achievement outbox")
			}
			tc.settle(t, e, u, action)
			if e.queued(t, u) == 0 {
				t.Fatal("the outbox lost the daily before its award")
			}
			// Both nodes sweep at once, twice.
			var wg sync.WaitGroup
			awarded := make([]int, 4)
			for i := range awarded {
				wg.Add(1)
				go func() {
					defer wg.Done()
					svc := e.svc
					if i%2 == 1 {
						svc = other
					}
					_, n, err := svc.SweepAchievements(ctx, 0, 100)
					if err != nil {
						t.Error(err)
					}
					awarded[i] = n
				}()
			}
			wg.Wait()
			if n := awarded[0] + awarded[1] + awarded[2] + awarded[3]; n != 1 {
				t.Fatalf("sweeps awarded %d achievements, want 1 (first_daily)", n)
			}
			if got := e.achievements(t, u); len(got) != 1 || !got["first_daily"] {
				t.Fatalf("achievements %v", got)
			}
			if r := e.rewarded(t, u); r != 100 {
				t.Fatalf("rewards %d, want 100 once", r)
			}
			if n := e.queued(t, u); n != 0 {
				t.Fatalf("%d rows left in the outbox", n)
			}
			// The command's own settle, delivered late, finds nothing left.
			if r, err := e.svc.SettleAchievements(ctx, "achievements:"+action, u); err != nil || len(r.New) != 0 {
				t.Fatalf("late settle: %+v %v", r, err)
			}
			e.audit(t)
		})
	}
}

// TestAchievementOutboxCounterparty: a player who did not act (a payee, a
// seller) is queued by the ledger legs and awarded by the sweep.
func TestAchievementOutboxCounterparty(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const payer, payee = 411, 412
	e.fund(t, payer, 50_000)
	if _, _, err := e.svc.SweepAchievements(ctx, 0, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(), From: payer, To: payee, Amount: economy.Amount{Value: 20_000}}); err != nil {
		t.Fatal(err)
	}
	if e.queued(t, payee) == 0 {
		t.Fatal("the payment queued nothing for the payee")
	}
	if _, n, err := e.svc.SweepAchievements(ctx, 0, 100); err != nil || n != 1 {
		t.Fatalf("sweep awarded %d (%v), want the payee's worth_10k", n, err)
	}
	if got := e.achievements(t, payee); !got["worth_10k"] {
		t.Fatalf("payee's achievements %v", got)
	}
	if w := e.balance(t, payee).Wallet; w != 20_000+500 {
		t.Fatalf("payee's wallet %d", w)
	}
	e.audit(t)
}

// TestAchievementRewardReachesAnother: a reward that lifts the net worth
// past a goal earns that one in the same award.
func TestAchievementRewardReachesAnother(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const u = 421
	e.fund(t, u, 9_950)
	action := op()
	if _, err := e.svc.Daily(ctx, action, u); err != nil {
		t.Fatal(err)
	}
	// Down to 9,990: only the reward passes 10,000.
	if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: op(), From: u, To: u + 1, Amount: economy.Amount{Value: e.balance(t, u).Wallet - 9_990}}); err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.SettleAchievements(ctx, "achievements:"+action, u)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.New) != 2 || r.New[1].Key != "worth_10k" || r.Reward != 600 || r.Wallet != 9_990+600 {
		t.Fatalf("award %+v, want first_daily then worth_10k", r)
	}
	if n := e.queued(t, u); n != 0 {
		t.Fatalf("%d rows left in the outbox", n)
	}
	again, err := e.svc.SettleAchievements(ctx, "achievements:"+action, u)
	if err != nil || len(again.New) != 2 || again.Reward != 600 {
		t.Fatalf("replay %+v %v", again, err)
	}
	e.audit(t)
}

// TestCompanionAchievements: owning, levelling and breeding companions and
// winning battles earn their achievements; a battle's end queues its
// winner even without a wager (no ledger legs for them).
func TestCompanionAchievements(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const u, rival = 431, 432
	e.fund(t, u, 1)
	e.fund(t, rival, 1)
	if _, _, err := e.svc.SweepAchievements(ctx, 0, 100); err != nil {
		t.Fatal(err)
	}
	// A bred (second generation) mythic at level 20 (XP 50·20·19), and a common one.
	addCompanion(t, e, u, "oracle", 19_000, 2)
	addCompanion(t, e, u, "scout", 0, 1)
	wonBattle(t, e, u, rival)
	if e.queued(t, u) != 1 || e.queued(t, rival) != 0 {
		t.Fatalf("queued after the battle: winner %d, loser %d; want 1, 0", e.queued(t, u), e.queued(t, rival))
	}
	if _, _, err := e.svc.SweepAchievements(ctx, 0, 100); err != nil {
		t.Fatal(err)
	}
	got := e.achievements(t, u)
	for _, k := range []string{"first_companion", "companion_level_20", "mythic_bred", "first_battle_win"} {
		if !got[k] {
			t.Errorf("%s not awarded: %v", k, got)
		}
	}
	if got["battle_wins_10"] {
		t.Error("battle_wins_10 after one win")
	}
	if title, err := e.svc.Title(ctx, u); err != nil || title != "Myth Maker" {
		t.Errorf("title %q (%v)", title, err)
	}
	e.audit(t)
}

// addCompanion gives owner a companion of model with xp, of generation gen.
func addCompanion(t *testing.T, e *env, owner int64, model string, xp int64, gen int) (id int64) {
	t.Helper()
	if err := e.pool.QueryRow(context.Background(), `INSERT INTO economy.companions (owner_id, model, name, power, speed, focus,
		charm, xp, charge, charge_at, mood, mood_at, generation, created_at)
		VALUES ($1, $2, $2 || '-' || $3::bigint, 5, 5, 5, 5, $3::bigint, 100, now(), 100, now(), $4, now()) RETURNING id`,
		owner, model, xp, gen).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// wonBattle records a battle without a wager that winner won against
// loser, ended the way a battle ends (an update to done).
func wonBattle(t *testing.T, e *env, winner, loser int64) {
	t.Helper()
	ctx := context.Background()
	var battle int64
	if err := e.pool.QueryRow(ctx, `INSERT INTO economy.battles (challenger, challenged, challenger_companion, wager, state, deadline, created_at)
		VALUES ($1, $2, 1, 0, 'active', now(), now()) RETURNING id`, loser, winner).Scan(&battle); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.battles SET state = 'done', winner = $2, settled_at = now() WHERE id = $1`, battle, winner); err != nil {
		t.Fatal(err)
	}
}

// TestAchievementRewardPastTheWallet: a reward the wallet cannot hold
// awards nothing now, and the player's rows leave the outbox all the same
// (or they would come first in every sweep, for ever).
func TestAchievementRewardPastTheWallet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const u = 451
	e.fund(t, u, math.MaxInt64-10)
	if e.queued(t, u) == 0 {
		t.Fatal("the grant queued nothing")
	}
	players, awarded, err := e.svc.SweepAchievements(ctx, 0, 100)
	if err != nil || players != 1 || awarded != 0 {
		t.Fatalf("sweep: %d players, %d awarded, %v; want 1, 0, nil", players, awarded, err)
	}
	if n := e.queued(t, u); n != 0 {
		t.Fatalf("%d rows left in the outbox", n)
	}
	if got := e.achievements(t, u); len(got) != 0 {
		t.Fatalf("achievements %v without their rewards", got)
	}
	e.audit(t)
}
